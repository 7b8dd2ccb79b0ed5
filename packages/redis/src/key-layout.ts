/**
 * Where a handle's items live: `<prefix><cacheName>:<region>:<key>` (core's `storeKey`), known
 * once `bind()` named the cache. A key is only computed for a bound, open handle, so a call
 * before `bind()` or after `close()` fails before anything reaches Redis.
 */
import {
  ClosedError,
  cacheKeyPrefix,
  escapeSegment,
  InvalidOptionsError,
  lockKeyPrefix,
  storeKey,
  unescapeSegment,
} from '@cacheplane/core'

/** A key of this cache taken apart: what core calls it. */
export interface ParsedKey {
  /** The item's key. */
  readonly key: string
  /** Its region, or undefined for the default one. */
  readonly region: string | undefined
}

/** The key layout of one handle, bound to one cache. */
export class KeyLayout {
  readonly #name: string
  readonly #prefix: string
  #cachePrefix: string | undefined
  #cacheName: string | undefined
  #closed = false

  /** `name` is the handle's (for errors); `prefix` goes in front of the cache name. */
  constructor(name: string, prefix: string) {
    this.#name = name
    this.#prefix = prefix
  }

  /** The bound cache's key prefix, or undefined before `bind()`. */
  get cachePrefix(): string | undefined {
    return this.#cachePrefix
  }

  /**
   * Binds to `cacheName`: true the first time, false when already bound to it (several managers
   * of one cache may share a handle, core's rule); another cache is an `InvalidOptionsError`.
   */
  bind(cacheName: string): boolean {
    if (this.#cachePrefix !== undefined) {
      if (this.#cachePrefix === cacheKeyPrefix(this.#prefix, cacheName)) return false
      throw new InvalidOptionsError(
        `redisHandle '${this.#name}' is already bound to another cache; create one handle per cache`,
      )
    }
    this.#cachePrefix = cacheKeyPrefix(this.#prefix, cacheName)
    this.#cacheName = cacheName
    return true
  }

  /** From now on every key computation throws `ClosedError`. */
  close(): void {
    this.#closed = true
  }

  /** The bound cache's key prefix; use before bind() or after close() is an error. */
  bound(): string {
    if (this.#closed) throw new ClosedError(`redisHandle '${this.#name}' is closed`)
    if (this.#cachePrefix === undefined)
      throw new InvalidOptionsError(`redisHandle '${this.#name}' was used before bind()`)
    return this.#cachePrefix
  }

  /** Where the bound cache's cluster locks live (core's `lockKeyPrefix`: no item key can equal one). */
  lockPrefix(): string {
    this.bound()
    return lockKeyPrefix(this.#prefix, this.#cacheName as string)
  }

  /** The Redis key of an item. */
  itemKey(key: string, region: string | undefined): string {
    return storeKey(this.bound(), region, key)
  }

  /** The prefix every key of `region` starts with (what a region clear scans for); core's `regionKeyPrefix`. */
  regionPrefix(region: string): string {
    return `${this.bound()}${escapeSegment(region)}:`
  }

  /** Core's key and region of a Redis key of this cache; undefined for a key of another layout. */
  parse(fullKey: string): ParsedKey | undefined {
    if (this.#cachePrefix === undefined || !fullKey.startsWith(this.#cachePrefix)) return undefined
    const rest = fullKey.slice(this.#cachePrefix.length)
    const colon = rest.indexOf(':')
    if (colon === -1) return undefined
    const region = colon === 0 ? undefined : unescapeSegment(rest.slice(0, colon))
    return { key: rest.slice(colon + 1), region }
  }
}
