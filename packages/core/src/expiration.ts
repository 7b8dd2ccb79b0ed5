/**
 * The expiration model. Core computes `expiresAt` once per write and then fits the
 * item to each handle's limits, so every level agrees on when an item dies:
 *
 * - `maxTtlMs`: longer lifetimes are clamped to it.
 * - `ttlGranularityMs`: TTLs and remaining lifetimes are rounded UP to it (Memcached
 *   keeps seconds; rounding down could expire an item before its TTL).
 * - no `sliding` capability: a sliding item is stored as `absolute` with the full TTL
 *   from its write (or its remaining lifetime for a copy); reads do not extend it there.
 *   A level above a sliding distributed level that lacks `touch` therefore re-reads
 *   the item from below once its copy expires, which extends the lower item.
 * - `maxLocalTtlMs` (non-distributed handles only): caps how long a local copy may
 *   live, which bounds staleness if a backplane gap goes unnoticed. Under a cap a
 *   `none` item becomes `absolute` for the cap, and a `sliding` item becomes `absolute`
 *   (a sliding local copy that is read often would otherwise outlive any cap).
 */
import type { Expiration, HandleCapabilities, ItemInput, StoredItem } from './contracts/cache-handle.js'

/** The limits one level imposes on lifetimes. */
export interface LifetimeLimits {
  /** Longest lifetime, ms (`Infinity` when unlimited): min of the handle's and the local cap. */
  readonly maxMs: number
  /** Granularity to round up to, ms. */
  readonly granularityMs: number
  /** Sliding items may stay sliding here. */
  readonly sliding: boolean
  /** A cap applies (local handle with `maxLocalTtlMs`): `none` items become absolute. */
  readonly capped: boolean
}

/** The limits of a handle; `maxLocalTtlMs` only applies to non-distributed handles. */
export function lifetimeLimits(
  capabilities: HandleCapabilities,
  maxLocalTtlMs: number | undefined,
): LifetimeLimits {
  const capped = !capabilities.distributed && maxLocalTtlMs !== undefined
  const maxMs = capped ? Math.min(capabilities.maxTtlMs, maxLocalTtlMs) : capabilities.maxTtlMs
  return {
    maxMs,
    granularityMs: Math.max(1, capabilities.ttlGranularityMs),
    sliding: capabilities.sliding && !capped,
    capped,
  }
}

/** A new item written now with `expiration`; `expiresAt` is 0 for `none`. */
export function newItem<V>(value: V, expiration: Expiration, now: number): ItemInput<V> {
  if (expiration.mode === 'none') return { value, mode: 'none', ttl: 0, expiresAt: 0, created: now }
  return { value, mode: expiration.mode, ttl: expiration.ttl, expiresAt: now + expiration.ttl, created: now }
}

/**
 * The item an update writes: `expiration` when given, otherwise the stored item's own
 * (absolute keeps its deadline, sliding restarts its TTL since the write is an access).
 */
export function updatedItem<V>(
  value: V,
  stored: StoredItem<unknown>,
  expiration: Expiration | undefined,
  now: number,
): ItemInput<V> {
  if (expiration !== undefined) return newItem(value, expiration, now)
  const expiresAt = stored.mode === 'sliding' ? now + stored.ttl : stored.expiresAt
  return { value, mode: stored.mode, ttl: stored.ttl, expiresAt, created: now }
}

/**
 * Fits an item to a level's limits (see the file comment). Returns the item itself
 * when nothing changes, and undefined when it has already expired.
 */
export function fitItem<V>(
  item: ItemInput<V>,
  limits: LifetimeLimits,
  now: number,
): ItemInput<V> | undefined {
  if (item.mode === 'none') {
    if (!limits.capped) return item
    const ttl = roundUp(limits.maxMs, limits.granularityMs)
    return { ...item, mode: 'absolute', ttl, expiresAt: now + ttl }
  }
  const remaining = item.expiresAt - now
  if (remaining <= 0) return undefined
  const mode = item.mode === 'sliding' && !limits.sliding ? 'absolute' : item.mode
  const ttl = roundUp(Math.min(item.ttl, limits.maxMs), limits.granularityMs)
  const expiresAt = now + roundUp(Math.min(remaining, limits.maxMs), limits.granularityMs)
  if (mode === item.mode && ttl === item.ttl && expiresAt === item.expiresAt) return item
  return { ...item, mode, ttl, expiresAt }
}

/** The lifetime an `expire` call hands one level: mode, ttl and expiresAt fitted to its limits. */
export function fitExpiration(
  expiration: Expiration,
  limits: LifetimeLimits,
  now: number,
): { mode: 'none' | 'absolute' | 'sliding'; ttl: number; expiresAt: number } {
  const fitted = fitItem(newItem(undefined, expiration, now), limits, now)
  // newItem's expiresAt is in the future, so fitItem always returns an item here.
  return { mode: fitted!.mode, ttl: fitted!.ttl, expiresAt: fitted!.expiresAt }
}

function roundUp(ms: number, granularity: number): number {
  if (granularity <= 1 || !Number.isFinite(ms)) return ms
  return Math.ceil(ms / granularity) * granularity
}
