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
 * - `grace` (absolute items only): the item is kept `grace` ms past `expiresAt` by handles
 *   with the `grace` capability; the physical lifetime (remaining + grace) is clamped to
 *   `maxMs` like any lifetime, so a local cap bounds a stale copy too. Handles without the
 *   capability get no grace: the item ends at `expiresAt` there.
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
  /** The handle keeps items for their grace after `expiresAt`. */
  readonly grace: boolean
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
    grace: capabilities.grace === true,
  }
}

/** A new item written now with `expiration` (and `grace` ms, absolute items only); `expiresAt` is 0 for `none`. */
export function newItem<V>(value: V, expiration: Expiration, now: number, grace = 0): ItemInput<V> {
  if (expiration.mode === 'none') return { value, mode: 'none', ttl: 0, expiresAt: 0, created: now }
  const { mode, ttl } = expiration
  if (grace === 0 || mode !== 'absolute') return { value, mode, ttl, expiresAt: now + ttl, created: now }
  return { value, mode, ttl, expiresAt: now + ttl, created: now, grace }
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
  grace?: number,
): ItemInput<V> {
  if (expiration !== undefined) return newItem(value, expiration, now, grace ?? stored.grace ?? 0)
  const expiresAt = stored.mode === 'sliding' ? now + stored.ttl : stored.expiresAt
  const kept = grace ?? stored.grace ?? 0
  if (kept === 0 || stored.mode !== 'absolute')
    return { value, mode: stored.mode, ttl: stored.ttl, expiresAt, created: now }
  return { value, mode: stored.mode, ttl: stored.ttl, expiresAt, created: now, grace: kept }
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
  const given = item.grace
  if (given === undefined || given === 0) {
    if (mode === item.mode && ttl === item.ttl && expiresAt === item.expiresAt) return item
    return { ...item, mode, ttl, expiresAt }
  }
  const grace = fitGrace(given, expiresAt - now, limits)
  if (mode === item.mode && ttl === item.ttl && expiresAt === item.expiresAt && grace === given) return item
  return { ...item, mode, ttl, expiresAt, grace }
}

/** The grace a level keeps after a lifetime of `lifetime` ms: none without the capability, clamped to `maxMs`. */
function fitGrace(grace: number, lifetime: number, limits: LifetimeLimits): number {
  if (!limits.grace) return 0
  const room = limits.maxMs - lifetime
  return room <= 0 ? 0 : roundUp(Math.min(grace, room), limits.granularityMs)
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
