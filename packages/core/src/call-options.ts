/** Per-call option types of `CacheManager` and what its reads return. */
import type { Expiration, StoredItem } from './contracts/cache-handle.js'
import type { ResilienceOptions } from './resilience-options.js'
import { checkExpiration, checkNonNegativeInteger } from './validation.js'

/** Options of a read. */
export interface ReadOptions {
  /** Region of the key; the same key in two regions is two items. */
  readonly region?: string | undefined
}

/** Options of `get` and `getItem`. */
export interface GetOptions extends ReadOptions {
  /** Also return an item past its expiry that is kept for its grace (`getItem` marks it `stale`). */
  readonly allowStale?: boolean | undefined
}

/** Options of a write. */
export interface WriteOptions extends ReadOptions {
  /** Expiration of this item; the manager's default when omitted. */
  readonly expiration?: Expiration | undefined
  /** Grace of this (absolute) item, ms: kept this long past its expiry for the stale paths; the manager's `grace` when omitted. */
  readonly grace?: number | undefined
  /**
   * Tags of the item (at most 64, each a valid key): `removeByTag` of any of them removes it.
   * Not accepted by `update`/`tryUpdate`, which keep the item's tags.
   */
  readonly tags?: readonly string[] | undefined
}

/** Options of `getOrAdd`: a write's, plus per-call overrides of the manager's fail-safe defaults. */
export interface GetOrAddOptions extends WriteOptions, ResilienceOptions {}

/** Options of `update`, `tryUpdate` and `addOrUpdate`. */
export interface UpdateOptions extends WriteOptions {
  /** CAS retries after a conflict; the manager's `updateRetries` (default 50) when omitted. */
  readonly maxRetries?: number | undefined
}

/** What `ctx.fail(error)` returns: a factory returns it to take the fail-safe path without throwing. */
export interface FactoryFailure {
  /** The error given to `ctx.fail`. */
  readonly error: unknown
}

/** What a getOrAdd factory gets as its third argument. */
export interface FactoryContext<V> {
  /** The key being loaded. */
  readonly key: string
  /** Its region, if any. */
  readonly region: string | undefined
  /** Aborted when the factory's result can no longer be used (hard timeout without background completion, close). */
  readonly signal: AbortSignal
  /** The graced (stale) value, when one exists (`hasStale` tells undefined from absent). */
  readonly stale: V | undefined
  /** True when a graced value exists. */
  readonly hasStale: boolean
  /** Caches the result with this expiration (and grace, ms) instead of the call's: adaptive caching. */
  setExpiration(expiration: Expiration, grace?: number): void
  /** Caches the result with these tags instead of the call's (InvalidOptionsError/InvalidKeyError for bad ones). */
  setTags(tags: readonly string[]): void
  /** Returns the factory's result to the callers without caching it. */
  skip(): void
  /** `return ctx.fail(error)`: the fail-safe path (the graced value, else FactoryError) without throwing. */
  fail(error: unknown): FactoryFailure
}

/**
 * Computes a value for a key that is absent (getOrAdd). The context comes third, so a
 * factory written as `(key) => load(key)` or `(key, region) => ...` keeps working.
 */
export type Factory<V> = (
  key: string,
  region: string | undefined,
  ctx: FactoryContext<V>,
) => V | FactoryFailure | Promise<V | FactoryFailure>

/** An item with its metadata, as `getItem` returns it (the version is the answering handle's; copies keep the source's). */
export interface CacheItem<V> extends StoredItem<V> {
  /** Index of the handle that answered (0 = top). */
  readonly level: number
  /** Past its expiry, served from its grace (only with `allowStale`). */
  readonly stale: boolean
}

/** The expiration of a write: the call's (validated) or the manager's default. */
export function callExpiration(options: WriteOptions | undefined, fallback: Expiration): Expiration {
  const expiration = options?.expiration
  if (expiration === undefined) return fallback
  checkExpiration(expiration)
  return expiration
}

/** The CAS retries of an update: the call's `maxRetries` (validated) or the manager's default. */
export function callRetries(options: UpdateOptions | undefined, fallback: number): number {
  const retries = options?.maxRetries ?? fallback
  checkNonNegativeInteger(retries, 'maxRetries')
  return retries
}
