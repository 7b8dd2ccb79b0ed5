/**
 * `CacheManager` options: their types, defaults and validation. Every mistake is an
 * InvalidOptionsError (or InvalidExpirationError) thrown by the constructor.
 */
import { checkBackplaneFree } from './backplane/backplane-claims.js'
import type { Backplane } from './contracts/backplane.js'
import type { CacheHandle, Expiration } from './contracts/cache-handle.js'
import type { Serializer } from './contracts/serializer.js'
import { type CircuitBreakerOptions, DEFAULT_CIRCUIT_BREAKER } from './circuit-breaker.js'
import { InvalidOptionsError } from './errors.js'
import { jsonSerializer } from './serializers.js'
import type { BackplaneDownMode } from './local-trust.js'
import { type LoadPolicy, type ResilienceOptions, resolveResilience } from './resilience-options.js'
import type { GapPolicy } from './sync-engine.js'
import {
  checkExpiration,
  checkNonNegativeInteger,
  checkPositive,
  checkRegion,
  MAX_TTL_MS,
} from './validation.js'

/** Options of a {@link CacheManager} (with the fail-safe defaults of {@link ResilienceOptions}). */
export interface CacheManagerOptions extends ResilienceOptions {
  /** Name of the cache: scopes keys in shared stores and the backplane channel. Required. */
  readonly name: string
  /** Handles, top (fastest) to bottom (source of truth); non-empty, unique names. */
  readonly handles: readonly CacheHandle<unknown>[]
  /**
   * Distributed handles of `handles` this manager uses but does not own: `close()` leaves
   * them open for whoever created them. Every other handle is owned: closed by `close()` and
   * usable by no other open manager. List a handle used by several managers (of one cache
   * name) here in each of them. Default none.
   */
  readonly shared?: readonly CacheHandle<unknown>[] | undefined
  /** Transport telling other instances which keys changed; one object may serve every cache of a process. */
  readonly backplane?: Backplane | undefined
  /** Default expiration of items; `{ mode: 'none' }` when omitted. */
  readonly expiration?: Expiration | undefined
  /** Serializer for handles that store bytes; JSON by default. */
  readonly serializer?: Serializer | undefined
  /** Prefix of the backplane channel (`<prefix><name>`); default `cacheplane:`. */
  readonly channelPrefix?: string | undefined
  /** Shared secret: backplane frames are signed and verified with HMAC. */
  readonly secret?: string | Uint8Array | undefined
  /** What to do with local handles on a backplane gap: `clear` (default), `keep`, or a function of the gap. */
  readonly gapPolicy?: GapPolicy | undefined
  /** Longest lifetime of an item in a non-distributed handle, ms: bounds staleness after an unnoticed gap. */
  readonly maxLocalTtlMs?: number | undefined
  /**
   * While the backplane is down or silent: `bypass` (default) clears the local handles and reads
   * the distributed ones without copying up until it is live again (a memory-only cache misses);
   * `keep` serves local copies that may be stale (bounded by `maxLocalTtlMs`).
   */
  readonly backplaneDown?: BackplaneDownMode | undefined
  /** Default CAS retries of `update`/`tryUpdate`/`addOrUpdate`; default 50. */
  readonly updateRetries?: number | undefined
  /** Circuit breaker of distributed handles, or `false` for none; default 5 failures, 5 s. */
  readonly circuitBreaker?: CircuitBreakerOptions | false | undefined
  /** Distinct backplane messages queued before the queue collapses into one `cleared`; default 10,000. */
  readonly maxQueue?: number | undefined
  /** Publish retry backoff, ms; default 50 doubling up to 5,000. */
  readonly retry?: { readonly baseDelayMs: number; readonly maxDelayMs: number } | undefined
  /** How long `close()` keeps trying to publish what is queued, ms; default 5,000. */
  readonly closeTimeoutMs?: number | undefined
  /** Sliding items served from memory touch the distributed copy at most once per this fraction of the TTL; default 0.25. */
  readonly slidingTouchRatio?: number | undefined
}

/** Options with every default applied. */
export interface ResolvedManagerOptions {
  readonly name: string
  readonly handles: readonly CacheHandle<unknown>[]
  /** The handles the manager uses but never closes. */
  readonly shared: ReadonlySet<CacheHandle<unknown>>
  readonly backplane: Backplane | undefined
  readonly expiration: Expiration
  readonly serializer: Serializer
  readonly channel: string
  readonly secret: string | Uint8Array | undefined
  readonly gapPolicy: GapPolicy
  readonly maxLocalTtlMs: number | undefined
  readonly backplaneDown: BackplaneDownMode
  readonly updateRetries: number
  readonly circuitBreaker: CircuitBreakerOptions | false
  readonly maxQueue: number
  readonly retry: { readonly baseDelayMs: number; readonly maxDelayMs: number }
  readonly closeTimeoutMs: number
  readonly slidingTouchRatio: number
  /** Fail-safe defaults (grace, throttle, timeouts, eager refresh). */
  readonly policy: LoadPolicy
}

/** Validates options and applies defaults; throws InvalidOptionsError naming the bad option. */
export function resolveManagerOptions(options: CacheManagerOptions): ResolvedManagerOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionsError('CacheManager needs options')
  const { name, handles } = options
  checkName(name)
  checkHandles(handles)
  const shared = sharedHandles(options.shared, handles)
  const expiration = options.expiration ?? { mode: 'none' }
  checkExpiration(expiration, 'options.expiration')
  const serializer = options.serializer ?? jsonSerializer
  if (typeof serializer?.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
    throw new InvalidOptionsError('CacheManager: serializer needs serialize() and deserialize()')
  }
  const channelPrefix = options.channelPrefix ?? 'cacheplane:'
  if (typeof channelPrefix !== 'string')
    throw new InvalidOptionsError('CacheManager: channelPrefix must be a string')
  const secret = options.secret
  if (secret !== undefined && typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
    throw new InvalidOptionsError('CacheManager: secret must be a string or a Uint8Array')
  }
  const policy = resolveResilience(options, expiration)
  const sync = resolveSyncOptions(options)
  // Before anything is bound or opened: a refused cache must leave nothing behind.
  if (options.backplane !== undefined && options.backplane !== null) checkBackplaneFree(options.backplane)
  return {
    ...sync,
    policy,
    name,
    handles,
    shared,
    backplane: options.backplane,
    expiration,
    serializer,
    channel: channelPrefix + name,
    secret,
  }
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidOptionsError('CacheManager: name is required (a non-empty string)')
  }
  try {
    checkRegion(name)
  } catch (cause) {
    throw new InvalidOptionsError('CacheManager: name is too long', { cause })
  }
}

function checkHandles(handles: unknown): asserts handles is readonly CacheHandle<unknown>[] {
  if (!Array.isArray(handles) || handles.length === 0) {
    throw new InvalidOptionsError('CacheManager: handles must be a non-empty array (top to bottom)')
  }
  const names = new Set<string>()
  for (const handle of handles as CacheHandle<unknown>[]) {
    if (
      typeof handle !== 'object' ||
      handle === null ||
      typeof handle.name !== 'string' ||
      !handle.capabilities
    ) {
      throw new InvalidOptionsError('CacheManager: every handle needs a name and capabilities')
    }
    if (names.has(handle.name))
      throw new InvalidOptionsError(`CacheManager: duplicate handle name '${handle.name}'`)
    names.add(handle.name)
  }
}

/** The options of the sync algorithm, the bus and the breaker, checked, with their defaults. */
function resolveSyncOptions(options: CacheManagerOptions) {
  const gapPolicy = options.gapPolicy ?? 'clear'
  if (gapPolicy !== 'clear' && gapPolicy !== 'keep' && typeof gapPolicy !== 'function') {
    throw new InvalidOptionsError(`CacheManager: gapPolicy must be 'clear', 'keep' or a function`)
  }
  if (options.maxLocalTtlMs !== undefined) checkPositive(options.maxLocalTtlMs, 'maxLocalTtlMs', MAX_TTL_MS)
  const backplaneDown = options.backplaneDown ?? 'bypass'
  if (backplaneDown !== 'bypass' && backplaneDown !== 'keep') {
    throw new InvalidOptionsError(`CacheManager: backplaneDown must be 'bypass' or 'keep'`)
  }
  const updateRetries = options.updateRetries ?? 50
  checkNonNegativeInteger(updateRetries, 'updateRetries')
  const circuitBreaker = options.circuitBreaker ?? DEFAULT_CIRCUIT_BREAKER
  if (circuitBreaker !== false) {
    checkPositive(circuitBreaker.failureThreshold, 'circuitBreaker.failureThreshold')
    checkPositive(circuitBreaker.resetAfterMs, 'circuitBreaker.resetAfterMs')
  }
  const maxQueue = options.maxQueue ?? 10_000
  checkPositive(maxQueue, 'maxQueue')
  const retry = options.retry ?? { baseDelayMs: 50, maxDelayMs: 5_000 }
  checkPositive(retry.baseDelayMs, 'retry.baseDelayMs')
  checkPositive(retry.maxDelayMs, 'retry.maxDelayMs')
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000
  checkPositive(closeTimeoutMs, 'closeTimeoutMs')
  const slidingTouchRatio = options.slidingTouchRatio ?? 0.25
  checkPositive(slidingTouchRatio, 'slidingTouchRatio', 1)
  const maxLocalTtlMs = options.maxLocalTtlMs
  return {
    gapPolicy,
    maxLocalTtlMs,
    backplaneDown,
    updateRetries,
    circuitBreaker,
    maxQueue,
    retry,
    closeTimeoutMs,
    slidingTouchRatio,
  }
}

/** The `shared` option as a set; each entry must be one of `handles` (the same object). */
function sharedHandles(
  shared: readonly CacheHandle<unknown>[] | undefined,
  handles: readonly CacheHandle<unknown>[],
): ReadonlySet<CacheHandle<unknown>> {
  if (shared === undefined) return new Set()
  if (!Array.isArray(shared))
    throw new InvalidOptionsError('CacheManager: shared must be an array of handles')
  for (const handle of shared) {
    if (!handles.includes(handle)) {
      const name = typeof handle?.name === 'string' ? `'${handle.name}'` : String(handle)
      throw new InvalidOptionsError(
        `CacheManager: shared lists ${name}, which is not one of \`handles\` (the same object is expected)`,
      )
    }
  }
  return new Set(shared)
}
