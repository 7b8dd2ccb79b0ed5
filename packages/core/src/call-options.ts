/** Per-call option types of `CacheManager` and what its reads return. */
import type { Expiration, StoredItem } from './contracts/cache-handle.js'
import { checkExpiration, checkNonNegativeInteger } from './validation.js'

/** Options of a read. */
export interface ReadOptions {
  /** Region of the key; the same key in two regions is two items. */
  readonly region?: string | undefined
}

/** Options of a write. */
export interface WriteOptions extends ReadOptions {
  /** Expiration of this item; the manager's default when omitted. */
  readonly expiration?: Expiration | undefined
}

/** Options of `update`, `tryUpdate` and `addOrUpdate`. */
export interface UpdateOptions extends WriteOptions {
  /** CAS retries after a conflict; the manager's `updateRetries` (default 50) when omitted. */
  readonly maxRetries?: number | undefined
}

/** Computes a value for a key that is absent (getOrAdd). */
export type Factory<V> = (key: string, region: string | undefined) => V | Promise<V>

/** An item with its metadata, as `getItem` returns it (the version is the answering handle's; copies keep the source's). */
export interface CacheItem<V> extends StoredItem<V> {
  /** Index of the handle that answered (0 = top). */
  readonly level: number
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
