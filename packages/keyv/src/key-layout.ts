import { createHash } from 'node:crypto'
import { cacheKeyPrefix, escapeSegment, storeKey } from '@cacheplane/core'

/**
 * Keys of one cache in a Keyv store.
 *
 * - item: `<prefix><cacheName>:<generation>:<region>:<key>` (core's unambiguous store key
 *   with the generation inserted after the cache name). `<generation>` is the cache
 *   generation token, followed for a region by `.` and the region's token.
 * - cache generation: `<prefix><cacheName>:gen`; region generation: `<prefix><cacheName>:gen:<region>`.
 *
 * Tokens are `0` (never cleared) or 11 base-36 characters, so an item key never equals a
 * generation key. Keyv stores limit keys (`@keyv/postgres`: VARCHAR(255); SQL text refuses
 * NUL): a key longer than `maxKeyBytes` UTF-8 bytes or holding a NUL character is replaced by
 * `<head>%H<sha256 base64url>` of the full key. Escaped segments never contain `%H` (every `%`
 * becomes `%25`), so a hashed key never equals a readable one.
 */

/** The generation token of a cache or region that was never cleared. */
export const initialToken = '0'

// Longest cache-name part kept readable; longer names are hashed (43 characters).
const maxCachePartBytes = 120

/** Smallest `maxKeyBytes` accepted: a hashed key with the longest head must still fit. */
export const minKeyBytes = 200

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

function unfit(text: string, maxBytes: number): boolean {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short keys skip measuring.
  return text.includes('\u0000') || (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes)
}

/** Builds the store keys of one cache; see the module comment for the layout. */
export class KeyLayout {
  /** `<prefix><cacheName>:`, the start of every key of this cache. */
  readonly cachePrefix: string
  /** Key of the cache generation token. */
  readonly cacheGenerationKey: string

  constructor(
    prefix: string,
    cacheName: string,
    private readonly maxKeyBytes: number,
  ) {
    const readable = cacheKeyPrefix(prefix, cacheName)
    this.cachePrefix = unfit(readable, maxCachePartBytes) ? `${prefix}%H${hash(cacheName)}:` : readable
    this.cacheGenerationKey = `${this.cachePrefix}gen`
  }

  /** Key of one region's generation token. */
  regionGenerationKey(region: string): string {
    const key = `${this.cacheGenerationKey}:${escapeSegment(region)}`
    return unfit(key, this.maxKeyBytes) ? `${this.cacheGenerationKey}:%H${hash(region)}` : key
  }

  /** Key of one item under the cache generation token and, for a region, the region's token. */
  itemKey(
    cacheToken: string,
    regionToken: string | undefined,
    region: string | undefined,
    key: string,
  ): string {
    const generation = regionToken === undefined ? cacheToken : `${cacheToken}.${regionToken}`
    const head = `${this.cachePrefix}${generation}:`
    const full = storeKey(head, region, key)
    return unfit(full, this.maxKeyBytes) ? `${head}%H${hash(full)}` : full
  }
}

/**
 * Longest prefix accepted, bytes. The cache part is then at most 120 bytes (a longer one is
 * `<prefix>%H<hash>:`, 110 at most), so a hashed item key (cache part, two 11-character
 * tokens and separators, `%H<hash>`) stays under `minKeyBytes`.
 */
export const maxPrefixBytes = 64

/** A problem with a key prefix, or undefined when it is usable. */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix.includes('\u0000')) return 'must not contain NUL characters'
  if (Buffer.byteLength(prefix) > maxPrefixBytes) return `must be at most ${maxPrefixBytes} bytes`
  return undefined
}
