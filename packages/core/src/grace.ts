/**
 * Logical and physical expiry. An absolute item written with `grace` is logically expired
 * at `expiresAt` but stays stored until `expiresAt + grace` in every handle with the
 * `grace` capability (Redis' TTL becomes expiry + grace). A logically expired item is a
 * miss for every read except the explicit stale paths: `get(key, { allowStale: true })`,
 * `getItem` (marked `stale: true`) with `allowStale`, and getOrAdd's fail-safe and soft
 * timeout. `remove`, `clear`, `clearRegion` and an unrecovered gap delete it like any item,
 * so a removed value is never served, stale or not.
 *
 * The hot path pays nothing for items without grace: the only new test on a memory hit is
 * `grace !== 0` on a field the entry already has; the clock is read only for graced items.
 */
import type { StoredItem } from './contracts/cache-handle.js'
import type { Found } from './sync-engine.js'

/** True when `item` is past its logical expiry but inside its grace (stored, served only on stale paths). */
export function isStale(item: StoredItem<unknown>, now: number): boolean {
  const grace = item.grace
  return grace !== undefined && grace !== 0 && item.expiresAt !== 0 && item.expiresAt <= now
}

/** True when `item` carries grace (a read must check its logical expiry). */
export function hasGrace(item: StoredItem<unknown>): boolean {
  const grace = item.grace
  return grace !== undefined && grace !== 0
}

/**
 * What a read walk saw besides its answer: the first logically expired item it passed
 * (the fail-safe candidate) and whether a level failed or refused (its circuit open).
 * Only the stale-aware paths pass one; `get` and `peek` never allocate it.
 */
export interface ReadProbe {
  /** The item in its grace window the walk passed, decoded: the lowest level's (see `SyncEngine.passStale`). */
  stale: Found | undefined
  /** A level failed or its circuit refused the read. */
  failed: boolean
}

/** A fresh probe. */
export function newProbe(): ReadProbe {
  return { stale: undefined, failed: false }
}
