/**
 * Options of the fail-safe features: manager defaults, per-call overrides and their
 * validation. A duration that is wrong (grace) is an InvalidExpirationError, any other bad
 * value an InvalidOptionsError. A call without overrides reuses the manager's resolved
 * policy object, so getOrAdd's hot path allocates nothing for options.
 */
import type { Expiration } from './contracts/cache-handle.js'
import { type DistributedLockOption, type LockPolicy, resolveLockOption } from './distributed-lock.js'
import { InvalidExpirationError, InvalidOptionsError } from './errors.js'
import { MAX_TTL_MS } from './validation.js'

/** The fail-safe options, at manager level (defaults) and per getOrAdd call (overrides). */
export interface ResilienceOptions {
  /** Grace, ms: absolute items stay stored this long past their expiry, for the stale paths; 0 (default) = none. */
  readonly grace?: number | undefined
  /** After a fail-safe, serve the graced value without calling the factory for this long, ms; default 30,000. */
  readonly failSafeThrottleMs?: number | undefined
  /** With a graced value, wait this long for the factory, then serve the graced value (the factory goes on), ms; 0 (default) = no limit. */
  readonly softTimeoutMs?: number | undefined
  /** Wait at most this long for the factory, then FactoryTimeoutError (or the graced value), ms; 0 (default) = no limit. */
  readonly hardTimeoutMs?: number | undefined
  /** A factory that timed out still stores its result when it arrives; default true (false aborts its signal). */
  readonly backgroundCompletion?: boolean | undefined
  /** A getOrAdd hit past this share of the item's lifetime (0 < x < 1) refreshes it in the background; 0 (default) = off. */
  readonly eagerRefresh?: number | undefined
  /**
   * One factory call per key across the cluster: a lock in the bottom handle, waiters woken by
   * the winner's backplane message (see `docs/resilience.md`); `true` for the defaults, or
   * `{ ttlMs, checkIntervalMs }`; default false (one call per key per process).
   */
  readonly distributedLock?: DistributedLockOption | undefined
}

/** The resolved policy of one getOrAdd call (or the manager's defaults). */
export interface LoadPolicy {
  /** Grace given to the items written, ms (0 = none). */
  readonly grace: number
  /** Throttle window after a fail-safe, ms. */
  readonly failSafeThrottleMs: number
  /** Soft timeout, ms (0 = none). */
  readonly softTimeoutMs: number
  /** Hard timeout, ms (0 = none). */
  readonly hardTimeoutMs: number
  /** Store a timed-out factory's late result. */
  readonly backgroundCompletion: boolean
  /** Eager refresh threshold (0 = off). */
  readonly eagerRefresh: number
  /** The cluster lock of getOrAdd and its background runs; undefined = in-process coalescing only. */
  readonly lock: LockPolicy | undefined
}

const KEYS = [
  'grace',
  'failSafeThrottleMs',
  'softTimeoutMs',
  'hardTimeoutMs',
  'backgroundCompletion',
  'eagerRefresh',
  'distributedLock',
] as const

/** The manager's default policy; throws for bad values (a default grace needs absolute or no expiration). */
export function resolveResilience(options: ResilienceOptions, expiration: Expiration): LoadPolicy {
  const policy = mergePolicy(options, undefined, 'options')
  if (policy.grace !== 0 && expiration.mode === 'sliding') {
    throw new InvalidOptionsError(
      'CacheManager: grace needs absolute expiration (a sliding item never goes stale)',
    )
  }
  return policy
}

/** The policy of one call: `defaults` itself when the call overrides nothing. */
export function callPolicy(options: ResilienceOptions | undefined, defaults: LoadPolicy): LoadPolicy {
  if (options === undefined) return defaults
  let overrides = false
  for (const key of KEYS) if (options[key] !== undefined) overrides = true
  return overrides ? mergePolicy(options, defaults, 'getOrAdd options') : defaults
}

/**
 * The grace of one write: the call's (checked; an explicit grace on a sliding item is an
 * InvalidExpirationError), else the default for absolute items (0 for the others).
 */
export function callGrace(callGraceMs: number | undefined, expiration: Expiration, fallback: number): number {
  if (callGraceMs === undefined) return expiration.mode === 'absolute' ? fallback : 0
  checkGrace(callGraceMs, 'grace')
  if (callGraceMs !== 0 && expiration.mode === 'sliding') {
    throw new InvalidExpirationError('grace needs absolute expiration (a sliding item never goes stale)')
  }
  return expiration.mode === 'absolute' ? callGraceMs : 0
}

function mergePolicy(options: ResilienceOptions, base: LoadPolicy | undefined, what: string): LoadPolicy {
  const grace = options.grace ?? base?.grace ?? 0
  checkGrace(grace, `${what}.grace`)
  const failSafeThrottleMs = options.failSafeThrottleMs ?? base?.failSafeThrottleMs ?? 30_000
  checkMs(failSafeThrottleMs, `${what}.failSafeThrottleMs`, false)
  const softTimeoutMs = options.softTimeoutMs ?? base?.softTimeoutMs ?? 0
  checkMs(softTimeoutMs, `${what}.softTimeoutMs`, true)
  const hardTimeoutMs = options.hardTimeoutMs ?? base?.hardTimeoutMs ?? 0
  checkMs(hardTimeoutMs, `${what}.hardTimeoutMs`, true)
  if (softTimeoutMs !== 0 && hardTimeoutMs !== 0 && softTimeoutMs >= hardTimeoutMs) {
    throw new InvalidOptionsError(
      `${what}.softTimeoutMs (${softTimeoutMs}) must be below hardTimeoutMs (${hardTimeoutMs})`,
    )
  }
  const backgroundCompletion = options.backgroundCompletion ?? base?.backgroundCompletion ?? true
  if (typeof backgroundCompletion !== 'boolean') {
    throw new InvalidOptionsError(`${what}.backgroundCompletion must be a boolean`)
  }
  const eagerRefresh = options.eagerRefresh ?? base?.eagerRefresh ?? 0
  if (typeof eagerRefresh !== 'number' || !(eagerRefresh === 0 || (eagerRefresh > 0 && eagerRefresh < 1))) {
    throw new InvalidOptionsError(
      `${what}.eagerRefresh must be a share of the lifetime in (0, 1), or 0 for off; got ${String(eagerRefresh)}`,
    )
  }
  const lock = resolveLockOption(options.distributedLock, base?.lock, `${what}.distributedLock`)
  return { grace, failSafeThrottleMs, softTimeoutMs, hardTimeoutMs, backgroundCompletion, eagerRefresh, lock }
}

/** Throws InvalidExpirationError unless `grace` is a finite number of ms in [0, MAX_TTL_MS]. */
function checkGrace(grace: unknown, what: string): void {
  if (typeof grace !== 'number' || !Number.isFinite(grace) || grace < 0 || grace > MAX_TTL_MS) {
    throw new InvalidExpirationError(
      `${what} must be a finite number of milliseconds >= 0 (0 = none), got ${String(grace)}`,
    )
  }
}

/** Throws InvalidOptionsError unless `ms` is a finite number of ms, > 0 (or 0 when `zero` is allowed). */
function checkMs(ms: unknown, what: string, zero: boolean): void {
  const ok = typeof ms === 'number' && Number.isFinite(ms) && ms <= MAX_TTL_MS && (zero ? ms >= 0 : ms > 0)
  if (!ok) {
    throw new InvalidOptionsError(
      `${what} must be a finite number of milliseconds ${zero ? '>= 0' : '> 0'}, got ${String(ms)}`,
    )
  }
}
