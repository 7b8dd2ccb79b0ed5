/**
 * getOrAdd after a miss of the top: read every level with a probe, then fail-safe, the
 * factory with its timeouts, and the write. The rules (see `docs/resilience.md`):
 *
 * - A fresh value found by the read always wins.
 * - With a graced value (the probe's stale item): a store that failed during the read,
 *   or an open throttle window, serves it without calling the factory; a factory that
 *   fails (throws, `ctx.fail`, returns undefined) serves it and opens the throttle window;
 *   a soft timeout serves it while the factory completes in the background.
 * - Without one, a failed factory is a FactoryError (cause: its error), a hard timeout a
 *   FactoryTimeoutError.
 * - Every write goes the normal way: a foreground result through getOrAdd's add-or-read
 *   (which replaces a stale item), a background result (timeout completion, eager
 *   refresh) through the fenced `set` fan-out, so it propagates like any write and the
 *   write fence keeps it out of the upper levels if the key changes meanwhile. Nothing
 *   here writes a handle directly.
 * - With `distributedLock`, the foreground factory (and eager refresh) runs only in the
 *   instance holding the key's cluster lock (`cluster-flight.ts`); the lock is released after
 *   the result is written, by the background completion when a timeout fired first.
 */
import type { Factory } from './call-options.js'
import { ClusterFlight } from './cluster-flight.js'
import { type Acquired, ClusterLock, type Lease } from './distributed-lock.js'
import type { Expiration, StoredItem } from './contracts/cache-handle.js'
import { ClosedError, FactoryError, FactoryTimeoutError, FactoryUndefinedError } from './errors.js'
import type { CacheEmitter, FailSafeReason } from './events.js'
import { BackgroundRuns, FailSafeThrottle } from './fail-safe.js'
import {
  type FactoryOutcome,
  type FactoryRun,
  raceTimeouts,
  runFactory,
  withTimeout,
} from './factory-runner.js'
import { newProbe } from './grace.js'
import type { Encoded } from './item-codec.js'
import { encodeTagged } from './tag-stamps.js'
import { reportError } from './layer.js'
import type { LoadPolicy } from './resilience-options.js'
import { keyId } from './single-flight.js'
import type { FactoryStats } from './stats.js'
import type { Found, SyncEngine } from './sync-engine.js'
import type { WriteFanout } from './write-fanout.js'
import type { WriteLoops } from './write-loops.js'

const SOFT = Symbol('soft-timeout')

/** One getOrAdd load: what the call resolved. */
export interface LoadRequest {
  /** The key. */
  readonly key: string
  /** Its region, if any. */
  readonly region: string | undefined
  /** The caller's factory. */
  readonly factory: Factory<unknown>
  /** Fail-safe options of the call (the manager's defaults when it overrides none). */
  readonly policy: LoadPolicy
  /** Expiration of what the factory returns (unless `ctx.setExpiration` changes it). */
  readonly expiration: Expiration
  /** Grace of what the factory returns, ms. */
  readonly grace: number
  /** Tags of what the factory returns (unless `ctx.setTags` changes them). */
  readonly tags: readonly string[] | undefined
}

/** getOrAdd's slow path and background refreshes of one manager. */
export class FailSafeLoader {
  /** Factory and stale-path counters (`stats().factory`). */
  readonly stats: FactoryStats
  readonly #engine: SyncEngine
  readonly #fanout: WriteFanout
  readonly #loops: WriteLoops
  readonly #emitter: CacheEmitter
  readonly #defaultGrace: number
  readonly #cacheName: string
  readonly #throttle = new FailSafeThrottle()
  readonly #background = new BackgroundRuns()
  readonly #lock: ClusterLock
  readonly #flight: ClusterFlight
  #closed = false

  constructor(
    engine: SyncEngine,
    fanout: WriteFanout,
    loops: WriteLoops,
    emitter: CacheEmitter,
    stats: FactoryStats,
    defaultGrace: number,
    cacheName: string,
  ) {
    this.#engine = engine
    this.#fanout = fanout
    this.#loops = loops
    this.#emitter = emitter
    this.stats = stats
    this.#defaultGrace = defaultGrace
    this.#cacheName = cacheName
    this.#lock = new ClusterLock(engine.bottom, emitter)
    this.#flight = new ClusterFlight(engine, this.#lock, engine.lockWaiters, emitter)
  }

  /** Reads every level (soft timeout included when a graced value is known at once), then falls back or loads. */
  async load(request: LoadRequest): Promise<unknown> {
    const { key, region, policy } = request
    const probe = newProbe()
    const reading = this.#engine.read(key, region, 0, probe)
    // The top is read synchronously: a graced value there is known before any store answers.
    const soft = probe.stale === undefined ? 0 : policy.softTimeoutMs
    const found = await withTimeout(reading, soft, SOFT)
    if (found === SOFT) return this.#failSafe(request, probe.stale!, 'soft-timeout')
    if (found !== undefined) {
      if (policy.eagerRefresh !== 0) this.maybeRefresh(request, found.stored, found.value)
      return found.value
    }
    const stale = probe.stale
    if (stale !== undefined) {
      const id = keyId(key, region)
      // A background run for the key is already producing its next value.
      if (this.#background.has(id)) return stale.value
      if (this.#throttle.active(id)) return this.#failSafe(request, stale, 'throttled')
      if (probe.failed) {
        this.#throttle.arm(id, policy.failSafeThrottleMs)
        return this.#failSafe(request, stale, 'store-failed')
      }
    }
    if (policy.lock === undefined) return this.#runForeground(request, stale, undefined)
    return this.#runLocked(request, stale)
  }

  /**
   * The foreground load under the cluster lock (`cluster-flight.ts`): another instance's value,
   * or the factory here under the lease, or the timeouts of a wait that lasted too long.
   */
  async #runLocked(request: LoadRequest, stale: Found | undefined): Promise<unknown> {
    const { key, region, policy } = request
    const softTimeoutMs = stale === undefined ? 0 : policy.softTimeoutMs
    const limits = { softTimeoutMs, hardTimeoutMs: policy.hardTimeoutMs }
    const outcome = await this.#flight.enter(key, region, policy.lock!, limits)
    if (outcome.kind === 'found') return outcome.value
    if (outcome.kind === 'run') return this.#runForeground(request, stale, outcome.lease)
    this.#timedOut(request, outcome.reason)
    if (stale !== undefined) {
      return this.#failSafe(request, stale, outcome.reason === 'soft' ? 'soft-timeout' : 'hard-timeout')
    }
    throw this.#timeoutError(request)
  }

  /** Eager refresh: a hit on `stored` past the policy's share of its lifetime refreshes it in the background. */
  maybeRefresh(request: LoadRequest, stored: StoredItem<unknown>, value: unknown): void {
    const ratio = request.policy.eagerRefresh
    if (stored.mode !== 'absolute' || stored.expiresAt === 0) return
    if (Date.now() < stored.expiresAt - stored.ttl * (1 - ratio)) return
    const id = keyId(request.key, request.region)
    if (this.#background.has(id) || this.#closed) return
    this.#background.start(id, () => this.#refresh(request, value))
  }

  /** Stops background work: running factories are aborted and their results dropped. */
  close(): void {
    this.#closed = true
    this.#throttle.clear()
    this.#flight.close()
    this.#background.abortAll(new ClosedError('the cache was closed'))
  }

  /**
   * Runs the factory in the foreground with its timeouts, then settles the call. A cluster
   * `lease` is released once the result is written (by the background completion after a
   * timeout), so other instances keep waiting for this write rather than start their own.
   */
  async #runForeground(
    request: LoadRequest,
    stale: Found | undefined,
    lease: Lease | undefined,
  ): Promise<unknown> {
    const { policy } = request
    const run = this.#start(request, stale)
    const softMs = stale === undefined ? 0 : policy.softTimeoutMs
    const first = await raceTimeouts(run.done, softMs, policy.hardTimeoutMs)
    if (first === 'soft') {
      this.#timedOut(request, 'soft')
      const hardLeft = policy.hardTimeoutMs === 0 ? 0 : policy.hardTimeoutMs - policy.softTimeoutMs
      this.#completeInBackground(request, run, hardLeft, lease)
      return this.#failSafe(request, stale!, 'soft-timeout')
    }
    if (first === 'hard') {
      this.#timedOut(request, 'hard')
      if (policy.backgroundCompletion) this.#completeInBackground(request, run, 0, lease)
      else {
        run.abort(this.#timeoutError(request))
        lease?.release()
      }
      if (stale !== undefined) return this.#failSafe(request, stale, 'hard-timeout')
      throw this.#timeoutError(request)
    }
    try {
      return await this.#settle(request, first, stale)
    } finally {
      lease?.release()
    }
  }

  /** A foreground outcome: the value written the normal way, or fail-safe, or the typed error. */
  async #settle(request: LoadRequest, outcome: FactoryOutcome, stale: Found | undefined): Promise<unknown> {
    const { key, region } = request
    if (!outcome.ok) {
      if (stale !== undefined) {
        this.#throttle.arm(keyId(key, region), request.policy.failSafeThrottleMs)
        return this.#failSafe(request, stale, 'factory-failed', outcome.error)
      }
      if (outcome.error instanceof FactoryUndefinedError) throw outcome.error
      throw new FactoryError(`the getOrAdd factory failed for '${key}'`, { cause: outcome.error })
    }
    if (outcome.skip) return outcome.value
    const encoded = await this.#encode(outcome)
    return this.#loops.addOrGet(key, region, encoded, outcome.expiration, outcome.grace)
  }

  /** Lets a timed-out factory finish and write its result (a hard limit left aborts it then). */
  #completeInBackground(
    request: LoadRequest,
    run: FactoryRun,
    hardLeftMs: number,
    lease: Lease | undefined,
  ): void {
    const id = keyId(request.key, request.region)
    const work = async () => {
      try {
        const first = await raceTimeouts(run.done, 0, request.policy.backgroundCompletion ? 0 : hardLeftMs)
        if (first === 'hard' || first === 'soft') {
          this.#timedOut(request, 'hard')
          run.abort(this.#timeoutError(request))
          return
        }
        await this.#writeBackground(request, first)
      } finally {
        lease?.release()
      }
    }
    // A second timed-out run for the key (rare: after the first finished) still completes.
    if (!this.#background.start(id, work)) void work()
  }

  /**
   * An eager refresh under the cluster lock when the call asks for one: an instance that finds
   * it held leaves the refresh to the holder, whose write evicts this instance's copy.
   */
  async #refresh(request: LoadRequest, current: unknown): Promise<void> {
    const lock = request.policy.lock
    let acquired: Acquired = 'unavailable'
    if (lock !== undefined) acquired = await this.#lock.acquire(request.key, request.region, lock.ttlMs)
    if (acquired === 'held') return
    try {
      await this.#refreshNow(request, current)
    } finally {
      if (acquired !== 'unavailable') acquired.release()
    }
  }

  /** An eager refresh: the factory, then a normal `set`; events say how it ended. */
  async #refreshNow(request: LoadRequest, current: unknown): Promise<void> {
    this.stats.eagerRefreshes++
    this.#emitRefresh(request, 'started')
    const run = this.#start(request, { value: current })
    const first = await raceTimeouts(run.done, 0, request.policy.hardTimeoutMs)
    if (first === 'hard' || first === 'soft') {
      this.#timedOut(request, 'hard')
      run.abort(this.#timeoutError(request))
      this.#emitRefresh(request, 'failed', this.#timeoutError(request))
      return
    }
    if (!first.ok) return this.#emitRefresh(request, 'failed', first.error)
    if (first.skip) return this.#emitRefresh(request, 'skipped')
    if (await this.#writeBackground(request, first)) this.#emitRefresh(request, 'written')
  }

  /** Writes a background result through the fenced `set` fan-out; true when written. Failures are reported. */
  async #writeBackground(request: LoadRequest, outcome: FactoryOutcome): Promise<boolean> {
    const { key, region } = request
    if (!outcome.ok) {
      this.#throttle.arm(keyId(key, region), request.policy.failSafeThrottleMs)
      const error = new FactoryError(`the background factory failed for '${key}'`, { cause: outcome.error })
      reportError(this.#emitter, undefined, 'factory', error)
      return false
    }
    if (outcome.skip || this.#closed) return false
    try {
      const encoded = await this.#encode(outcome)
      await this.#fanout.set(key, region, encoded, outcome.expiration, outcome.grace)
      this.stats.backgroundWrites++
      return true
    } catch {
      return false // reported by the fan-out as an `error` event
    }
  }

  /** The factory's value ready to write, tagged when the call or the factory gave tags. */
  #encode(outcome: FactoryOutcome & { ok: true }): Encoded | Promise<Encoded> {
    const engine = this.#engine
    const { value, tags } = outcome
    return tags === undefined
      ? engine.codec.encode(value)
      : encodeTagged(engine.stamps, engine.codec, value, tags)
  }

  #start(request: LoadRequest, stale: { readonly value: unknown } | undefined): FactoryRun {
    const run = runFactory(
      request.factory,
      { ...request, cache: this.#cacheName, stale, defaultGrace: this.#defaultGrace },
      this.stats,
    )
    this.#background.track(run.abort, run.done)
    return run
  }

  #failSafe(request: LoadRequest, stale: Found, reason: FailSafeReason, error?: unknown): unknown {
    this.stats.failSafe++
    if (this.#emitter.has('failSafe')) {
      const { key, region } = request
      this.#emitter.emit(
        'failSafe',
        error === undefined ? { key, region, reason } : { key, region, reason, error },
      )
    }
    return stale.value
  }

  #timedOut(request: LoadRequest, reason: 'soft' | 'hard'): void {
    if (reason === 'soft') this.stats.softTimeouts++
    else this.stats.hardTimeouts++
    if (this.#emitter.has('factoryTimeout'))
      this.#emitter.emit('factoryTimeout', { key: request.key, region: request.region, reason })
  }

  #emitRefresh(
    request: LoadRequest,
    reason: 'started' | 'written' | 'failed' | 'skipped',
    error?: unknown,
  ): void {
    if (!this.#emitter.has('eagerRefresh')) return
    const { key, region } = request
    this.#emitter.emit(
      'eagerRefresh',
      error === undefined ? { key, region, reason } : { key, region, reason, error },
    )
  }

  #timeoutError(request: LoadRequest): InstanceType<typeof FactoryTimeoutError> {
    return new FactoryTimeoutError(
      `the getOrAdd factory for '${request.key}' ran past hardTimeoutMs (${request.policy.hardTimeoutMs} ms)`,
    )
  }
}
