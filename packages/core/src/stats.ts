/**
 * Counters. Plain mutable numbers on one object per handle: incrementing a field
 * is the cheapest thing the hot path can do, and `stats()` copies them out.
 */
import type { BackplaneBusStats } from './backplane/backplane-bus.js'
import type { CircuitState } from './circuit-breaker.js'

/** Counters of one handle, as returned by `cache.stats()`. */
export interface HandleStats {
  /** Reads this handle answered. */
  hits: number
  /** Reads this handle did not answer (absent, expired, corrupt or failed). */
  misses: number
  /** Items written with `set` (including copies from lower levels). */
  sets: number
  /** Items written with `add` (including copies from lower levels). */
  adds: number
  /** Items removed by core (remove, remote invalidations, evictions of levels above). */
  removes: number
  /** Clears and region clears. */
  clears: number
  /** Items the handle dropped by itself (expired, evicted, external). */
  evictions: number
  /** Failed calls, corrupt items and fast failures of an open circuit. */
  errors: number
  /** State of the handle's circuit breaker (`closed` for handles without one). */
  circuit: CircuitState
}

/** Counters of the backplane, as the bus keeps them, plus what the manager did about its outages. */
export interface BackplaneStats extends BackplaneBusStats {
  /** Local layers are bypassed now: the backplane is not live (`backplaneDown: 'bypass'`). */
  bypassing: boolean
  /** Times the local layers were bypassed because the backplane was down or silent. */
  bypasses: number
}

/** Counters of getOrAdd's factories and the stale paths, as returned by `cache.stats()`. */
export interface FactoryStats {
  /** Factory calls (foreground, background completion and eager refresh). */
  calls: number
  /** Factories that threw or called `ctx.fail`. */
  errors: number
  /** Graced values served by fail-safe (any reason). */
  failSafe: number
  /** Factories past their soft timeout. */
  softTimeouts: number
  /** Factories past their hard timeout. */
  hardTimeouts: number
  /** Eager refreshes started. */
  eagerRefreshes: number
  /** Results written in the background (soft/hard timeout completion, eager refresh). */
  backgroundWrites: number
  /** Stale values returned by `get`/`getItem` with `allowStale`. */
  staleReads: number
}

/** A fresh set of zeroed factory counters. */
export function newFactoryStats(): FactoryStats {
  return {
    calls: 0,
    errors: 0,
    failSafe: 0,
    softTimeouts: 0,
    hardTimeouts: 0,
    eagerRefreshes: 0,
    backgroundWrites: 0,
    staleReads: 0,
  }
}

/** What `cache.stats()` returns. */
export interface CacheStats {
  /** Counters per handle, by handle name. */
  readonly handles: Readonly<Record<string, HandleStats>>
  /** Counters of getOrAdd's factories, fail-safe, timeouts, eager refresh and stale reads. */
  readonly factory: FactoryStats
  /** Backplane counters; undefined without a backplane. */
  readonly backplane: BackplaneStats | undefined
  /**
   * Keys (and tags, and clears) whose bottom write failed but may still land: each is probed
   * on the store until it can no longer land, then announced again (see docs/resilience.md).
   */
  readonly unsettledWrites: number
}

/** A fresh set of zeroed handle counters. */
export function newHandleStats(): HandleStats {
  return {
    hits: 0,
    misses: 0,
    sets: 0,
    adds: 0,
    removes: 0,
    clears: 0,
    evictions: 0,
    errors: 0,
    circuit: 'closed',
  }
}
