import { createHash } from 'node:crypto'
import { cacheKeyPrefix, escapeSegment, storeKey } from '@cacheplane/core'

/**
 * Memcached keys of one cache.
 *
 * - item: `<prefix><cacheName>:<generation>:<region>:<key>` (core's unambiguous store key
 *   with the generation inserted after the cache name). `<generation>` is the cache
 *   generation in base 36, followed for a region by `.` and the region's generation.
 * - cache generation counter: `<prefix><cacheName>:gen`
 * - region generation counter: `<prefix><cacheName>:gen:<region>`
 *
 * Generations are digits, so an item key never equals a counter key. Memcached keys are
 * at most 250 bytes and, for the text protocol and tooling, free of spaces and control
 * characters: a key that breaks either rule is replaced by `<head>:%H<sha256 base64url>`
 * of the full key. Escaped segments never contain `%H` (every `%` becomes `%25`), so a
 * hashed key never equals a readable one. A cache name that does not fit is hashed the same way.
 */

/** Memcached's key length limit, bytes. */
export const maxKeyBytes = 250

/** Longest prefix accepted, bytes: leaves room for the name, generations and a hash. */
export const maxPrefixBytes = 64

// Longest cache-name part kept readable; longer names are hashed (43 characters).
const maxCachePartBytes = 120

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is rejected
const unfitCharacters = /[\u0000-\u0020\u007f]/

/** True when `key` can be sent to Memcached as is. */
export function isFitKey(key: string): boolean {
  return !unfitCharacters.test(key) && Buffer.byteLength(key) <= maxKeyBytes
}

/** A problem with a key prefix, or undefined when it is usable. */
export function prefixProblem(prefix: string): string | undefined {
  if (unfitCharacters.test(prefix)) return 'must not contain spaces or control characters'
  if (Buffer.byteLength(prefix) > maxPrefixBytes) return `must be at most ${maxPrefixBytes} bytes`
  return undefined
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

/** Builds the Memcached keys of one cache; see the module comment for the layout. */
export class KeyLayout {
  /** `<prefix><cacheName>:`, the start of every key of this cache. */
  readonly cachePrefix: string
  /** Key of the cache generation counter. */
  readonly cacheGenerationKey: string
  // The head of region-less item keys under `headGeneration` (see itemKeyAt).
  private headGeneration = -1
  private head = ''

  constructor(prefix: string, cacheName: string) {
    const readable = cacheKeyPrefix(prefix, cacheName)
    const fits = !unfitCharacters.test(readable) && Buffer.byteLength(readable) <= maxCachePartBytes
    this.cachePrefix = fits ? readable : `${prefix}%H${hash(cacheName)}:`
    this.cacheGenerationKey = `${this.cachePrefix}gen`
  }

  /** Key of one region's generation counter. */
  regionGenerationKey(region: string): string {
    const key = `${this.cacheGenerationKey}:${escapeSegment(region)}`
    return isFitKey(key) ? key : `${this.cacheGenerationKey}:%H${hash(region)}`
  }

  /** Key of one item; `generation` comes from {@link generationSegment}. */
  itemKey(generation: string, region: string | undefined, key: string): string {
    return fitItemKey(`${this.cachePrefix}${generation}:`, region, key)
  }

  /**
   * Key of one item under these generations: {@link itemKey} with the generation segment
   * built here. Every read and write builds one, so the head of region-less keys (prefix,
   * name, cache generation in base 36) is kept for the last cache generation seen.
   */
  itemKeyAt(
    cacheGeneration: number,
    regionGeneration: number | undefined,
    region: string | undefined,
    key: string,
  ): string {
    if (regionGeneration !== undefined) {
      return fitItemKey(
        `${this.cachePrefix}${generationSegment(cacheGeneration, regionGeneration)}:`,
        region,
        key,
      )
    }
    if (cacheGeneration !== this.headGeneration) {
      this.head = `${this.cachePrefix}${generationSegment(cacheGeneration, undefined)}:`
      this.headGeneration = cacheGeneration
    }
    return fitItemKey(this.head, region, key)
  }
}

// Longest key (UTF-16 code units) that fits in maxKeyBytes whatever it holds: a code unit is
// at most 3 UTF-8 bytes. Shorter keys skip measuring their UTF-8 length.
const surelyShortUnits = Math.floor(maxKeyBytes / 3)

/** The item key under `head` (`<prefix><cacheName>:<generation>:`), hashed when it does not fit. */
function fitItemKey(head: string, region: string | undefined, key: string): string {
  const full = storeKey(head, region, key)
  // The head is fit by construction (checked prefix, escaped or hashed name, base-36 digits)
  // and escaping a region adds no unfit character, so only the region and key are checked.
  const fits =
    !unfitCharacters.test(key) &&
    (region === undefined || !unfitCharacters.test(region)) &&
    (full.length <= surelyShortUnits || Buffer.byteLength(full) <= maxKeyBytes)
  return fits ? full : `${head}%H${hash(full)}`
}

/** The generation part of an item key: the cache generation, then the region's. */
export function generationSegment(cacheGeneration: number, regionGeneration: number | undefined): string {
  const cache = cacheGeneration.toString(36)
  return regionGeneration === undefined ? cache : `${cache}.${regionGeneration.toString(36)}`
}
