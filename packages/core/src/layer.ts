/**
 * One level of a manager: a handle plus what core keeps about it (its limits, counters
 * and circuit breaker), and the error policy applied to every call into it.
 */
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js'
import type { CacheHandle, HandleCapabilities, MaybePromise, StoredItem } from './contracts/cache-handle.js'
import { CacheplaneError, CircuitOpenError, HandleFailedError } from './errors.js'
import type { CacheEmitter } from './events.js'
import { type LifetimeLimits, lifetimeLimits } from './expiration.js'
import { type HandleStats, newHandleStats } from './stats.js'

/** A handle at one level of a manager. */
export class Layer {
  /** The handle's name. */
  readonly name: string
  /** The handle's capabilities. */
  readonly capabilities: HandleCapabilities
  /** In-process (not shared): remote invalidations evict from it. */
  readonly local: boolean
  /** Stores serialized bytes. */
  readonly bytes: boolean
  /** Returns synchronously: calls are not awaited. */
  readonly sync: boolean
  /** Lifetime limits applied to items written here. */
  readonly limits: LifetimeLimits
  /** Counters. */
  readonly stats: HandleStats = newHandleStats()
  /** Circuit breaker (distributed handles only). */
  readonly breaker: CircuitBreaker | undefined

  constructor(
    /** The handle. */
    readonly handle: CacheHandle<unknown>,
    /** Index in the manager, 0 = top. */
    readonly index: number,
    maxLocalTtlMs: number | undefined,
    breaker: CircuitBreakerOptions | false,
  ) {
    this.name = handle.name
    this.capabilities = handle.capabilities
    this.local = !handle.capabilities.distributed
    this.bytes = handle.capabilities.bytes
    this.sync = handle.capabilities.synchronous
    this.limits = lifetimeLimits(handle.capabilities, maxLocalTtlMs)
    this.breaker = this.local || breaker === false ? undefined : new CircuitBreaker(breaker)
  }
}

/** Reports a failure as an `error` event and counts it on the layer. */
export function reportError(
  emitter: CacheEmitter,
  layer: Layer | undefined,
  operation: string,
  error: CacheplaneError,
): void {
  if (layer !== undefined) layer.stats.errors++
  if (emitter.has('error')) emitter.emit('error', { operation, handle: layer?.name ?? error.source, error })
}

/**
 * The typed error for a raw failure of `layer`: a typed error the handle threw on purpose
 * (ItemCorruptError, ValueTooLargeError, ...) passes through; anything else becomes
 * HandleFailedError with the raw error as cause.
 */
export function wrapHandleError(layer: Layer, operation: string, error: unknown): CacheplaneError {
  if (error instanceof CacheplaneError) return error
  return new HandleFailedError(`${operation} failed on handle '${layer.name}'`, {
    cause: error,
    source: layer.name,
  })
}

/**
 * The CircuitOpenError (counted and reported) when `layer`'s circuit refuses a call now,
 * else undefined. The policy pieces ({@link circuitRefusal}, {@link layerSucceeded},
 * {@link layerFailed}) are separate so the read path can apply them inline: a lower-level
 * read through {@link attempt} costs a closure and two async frames (two promises) per
 * call, which profiling showed as a visible share of a distributed-hit get.
 */
export function circuitRefusal(
  emitter: CacheEmitter,
  layer: Layer,
  operation: string,
): CacheplaneError | undefined {
  if (layer.breaker === undefined || layer.breaker.allow()) return undefined
  layer.stats.circuit = layer.breaker.state
  const error = new CircuitOpenError(`circuit of handle '${layer.name}' is open; ${operation} failed fast`, {
    source: layer.name,
  })
  reportError(emitter, layer, operation, error)
  return error
}

/** Records a call of `layer` that succeeded: its circuit closes. */
export function layerSucceeded(layer: Layer): void {
  if (layer.breaker !== undefined) {
    layer.breaker.success()
    layer.stats.circuit = 'closed'
  }
}

/** Records a call of `layer` that threw `raw`: wrapped, counted against the circuit, reported; returns the typed error. */
export function layerFailed(
  emitter: CacheEmitter,
  layer: Layer,
  operation: string,
  raw: unknown,
): CacheplaneError {
  const error = wrapHandleError(layer, operation, raw)
  // Only a store that failed counts against the circuit: a corrupt item, a value too
  // large or a closed handle are answers, and must not cut off a healthy server.
  if (layer.breaker !== undefined && error instanceof HandleFailedError) {
    layer.breaker.failure()
    layer.stats.circuit = layer.breaker.state
  }
  reportError(emitter, layer, operation, error)
  return error
}

/** Throws CircuitOpenError (counted and reported) when `layer`'s circuit refuses the call. */
function checkCircuit(emitter: CacheEmitter, layer: Layer, operation: string): void {
  const refused = circuitRefusal(emitter, layer, operation)
  if (refused !== undefined) throw refused
}

/** Reads `key` without extending a sliding item: the handle's `peek` when it has one, else `get`. */
export function readQuietly(
  handle: CacheHandle<unknown>,
  key: string,
  region: string | undefined,
): MaybePromise<StoredItem<unknown> | undefined> {
  return handle.peek === undefined ? handle.get(key, region) : handle.peek(key, region)
}

/** True for a promise (any thenable). */
export function isPromise(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}

/**
 * The error for a handle that declares `synchronous: true` and returned `promise` anyway.
 * Core does not await such a handle, so it took the promise for the answer: a read of a
 * bytes handle would otherwise be reported as bytes that do not decode, which sends the
 * author looking at the serializer instead of at the declaration.
 */
export function notSynchronous(
  layer: Layer,
  operation: string,
  promise: PromiseLike<unknown>,
): CacheplaneError {
  // Its outcome is never used: keep a rejection from surfacing as unhandled.
  Promise.resolve(promise).catch(() => {})
  return new HandleFailedError(
    `handle '${layer.name}' declares capabilities.synchronous: true, but its ${operation} returned a promise: declare synchronous: false for a store that answers asynchronously`,
    { source: layer.name },
  )
}

/**
 * Calls into a handle with the error policy: circuit check, raw errors wrapped,
 * counted, reported as events and rethrown typed. Corrupt items do not count against
 * the circuit (the server answered).
 */
export async function guard<T>(
  emitter: CacheEmitter,
  layer: Layer,
  operation: string,
  call: (handle: CacheHandle<unknown>) => MaybePromise<T>,
): Promise<T> {
  checkCircuit(emitter, layer, operation)
  try {
    let result: T
    if (layer.sync) {
      result = call(layer.handle) as T
      if (isPromise(result)) throw notSynchronous(layer, operation, result)
    } else {
      result = await call(layer.handle)
    }
    layerSucceeded(layer)
    return result
  } catch (raw) {
    throw layerFailed(emitter, layer, operation, raw)
  }
}

/** Like {@link guard} for best-effort calls: failures are reported and resolve to `fallback`. */
export async function attempt<T>(
  emitter: CacheEmitter,
  layer: Layer,
  operation: string,
  call: (handle: CacheHandle<unknown>) => MaybePromise<T>,
  fallback: T,
): Promise<T> {
  try {
    return await guard(emitter, layer, operation, call)
  } catch {
    return fallback
  }
}
