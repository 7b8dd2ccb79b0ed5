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
 * - Every write goes through the write loops: a foreground result through getOrAdd's
 *   add-or-read (which replaces a stale item), a background result (timeout completion,
 *   eager refresh) through `replace` (below), so it propagates like any write. Nothing here
 *   writes a handle directly.
 * - A factory's result is older than any change of its key made while it ran (the source it
 *   read may have changed just before that change): when this instance made or heard one
 *   (a write, a remove, a clear, a gap), the result is not written; the callers get the
 *   store's valid value if it holds one (`WriteLoops.readOrKeep`), else the result. A
 *   background result replaces only the item its run started from (compare-and-set on that
 *   version, or an add where there is none), so a newer write whose message has not arrived
 *   yet wins too. The tag marks of the call's tags are read before the factory runs,
 *   so a `removeByTag` made while it ran invalidates its result on every instance.
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
import { hitClock } from './hit-clock.js'
import type { FenceTicket } from './invalidation-fence.js'
import type { Encoded } from './item-codec.js'
import { encodeTagged } from './tag-stamps.js'
import { reportError } from './layer.js'
import type { LoadPolicy } from './resilience-options.js'
import { keyId } from './single-flight.js'
import type { FactoryStats } from './stats.js'
import type { Found, SyncEngine } from './sync-engine.js'
import type { WriteLoops } from './write-loops.js'

const SOFT = Symbol('soft-timeout')

/** The item a factory run refreshes, or falls back to (a graced value). */
type RunOrigin = Pick<Found, 'value' | 'stored'>

/**
 * A factory call with what judges its result: the fence ticket of its key, taken before the
 * factory ran, and the marks of the call's tags read then (undefined without tags, or when
 * they could not be read: the write reads them, as any tagged write).
 */
interface Started {
  readonly run: FactoryRun
  readonly ticket: FenceTicket
  readonly marks: readonly number[] | undefined
  /** The call's tags, which {@link marks} are of. */
  readonly tags: readonly string[] | undefined
  /** The version of the item the run started from (an eager refresh, a graced value), if any. */
  readonly base: number | undefined
}

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

/**
 * Whether a hit on `stored` is past the share `ratio` (the policy's `eagerRefresh`) of its
 * lifetime, so that it starts an eager refresh. Checked on every such hit, so against the
 * reading of the clock hits share (`hit-clock.ts`): `Date.now()` costs as much as the hit.
 */
export function refreshDue(stored: StoredItem<unknown>, ratio: number): boolean {
  if (stored.mode !== 'absolute' || stored.expiresAt === 0) return false
  return hitClock() >= stored.expiresAt - stored.ttl * (1 - ratio)
}

/** getOrAdd's slow path and background refreshes of one manager. */
export class FailSafeLoader {
  /** Factory and stale-path counters (`stats().factory`). */
  readonly stats: FactoryStats
  readonly #engine: SyncEngine
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
    loops: WriteLoops,
    emitter: CacheEmitter,
    stats: FactoryStats,
    defaultGrace: number,
    cacheName: string,
  ) {
    this.#engine = engine
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
    if (refreshDue(stored, request.policy.eagerRefresh)) this.startRefresh(request, stored, value)
  }

  /** Refreshes `stored` in the background, unless a refresh of its key runs already; the caller found it due. */
  startRefresh(request: LoadRequest, stored: StoredItem<unknown>, value: unknown): void {
    const id = keyId(request.key, request.region)
    if (this.#background.has(id) || this.#closed) return
    this.#background.start(id, () => this.#refresh(request, { value, stored }))
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
    const started = await this.#start(request, stale)
    const softMs = stale === undefined ? 0 : policy.softTimeoutMs
    const first = await raceTimeouts(started.run.done, softMs, policy.hardTimeoutMs)
    if (first === 'soft') {
      this.#timedOut(request, 'soft')
      const hardLeft = policy.hardTimeoutMs === 0 ? 0 : policy.hardTimeoutMs - policy.softTimeoutMs
      this.#completeInBackground(request, started, hardLeft, lease)
      return this.#failSafe(request, stale!, 'soft-timeout')
    }
    if (first === 'hard') {
      this.#timedOut(request, 'hard')
      if (policy.backgroundCompletion) this.#completeInBackground(request, started, 0, lease)
      else {
        started.run.abort(this.#timeoutError(request))
        this.#engine.fence.leave(started.ticket)
        lease?.release()
      }
      if (stale !== undefined) return this.#failSafe(request, stale, 'hard-timeout')
      throw this.#timeoutError(request)
    }
    try {
      return await this.#settle(request, first, stale, started)
    } finally {
      this.#engine.fence.leave(started.ticket)
      lease?.release()
    }
  }

  /** A foreground outcome: the value written the normal way, or fail-safe, or the typed error. */
  async #settle(
    request: LoadRequest,
    outcome: FactoryOutcome,
    stale: Found | undefined,
    started: Started,
  ): Promise<unknown> {
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
    const encoded = await this.#encode(outcome, started)
    // The key changed while the factory ran: its result is older than that change (not written).
    if (!this.#current(started)) return this.#loops.readOrKeep(key, region, outcome.value)
    return this.#loops.addOrGet(key, region, encoded, outcome.expiration, outcome.grace)
  }

  /** Lets a timed-out factory finish and write its result (a hard limit left aborts it then). */
  #completeInBackground(
    request: LoadRequest,
    started: Started,
    hardLeftMs: number,
    lease: Lease | undefined,
  ): void {
    const id = keyId(request.key, request.region)
    const { run } = started
    const work = async () => {
      try {
        const first = await raceTimeouts(run.done, 0, request.policy.backgroundCompletion ? 0 : hardLeftMs)
        if (first === 'hard' || first === 'soft') {
          this.#timedOut(request, 'hard')
          run.abort(this.#timeoutError(request))
          return
        }
        await this.#writeBackground(request, first, started)
      } finally {
        this.#engine.fence.leave(started.ticket)
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
  async #refresh(request: LoadRequest, current: RunOrigin): Promise<void> {
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

  /** An eager refresh: the factory, then its result over the item refreshed; events say how it ended. */
  async #refreshNow(request: LoadRequest, current: RunOrigin): Promise<void> {
    this.stats.eagerRefreshes++
    this.#emitRefresh(request, 'started')
    const started = await this.#start(request, current)
    try {
      const first = await raceTimeouts(started.run.done, 0, request.policy.hardTimeoutMs)
      if (first === 'hard' || first === 'soft') {
        this.#timedOut(request, 'hard')
        started.run.abort(this.#timeoutError(request))
        this.#emitRefresh(request, 'failed', this.#timeoutError(request))
        return
      }
      if (!first.ok) return this.#emitRefresh(request, 'failed', first.error)
      // A failed write was reported as an `error` event, with its cause.
      this.#emitRefresh(request, await this.#writeBackground(request, first, started))
    } finally {
      this.#engine.fence.leave(started.ticket)
    }
  }

  /**
   * Writes a background result over the item its run started from (see the header); `written`,
   * or why not: `failed` (the factory failed, or the write did: reported), `skipped` (`ctx.skip`,
   * closed, or the key changed meanwhile).
   */
  async #writeBackground(
    request: LoadRequest,
    outcome: FactoryOutcome,
    started: Started,
  ): Promise<'written' | 'failed' | 'skipped'> {
    const { key, region } = request
    if (!outcome.ok) {
      this.#throttle.arm(keyId(key, region), request.policy.failSafeThrottleMs)
      const error = new FactoryError(`the background factory failed for '${key}'`, { cause: outcome.error })
      reportError(this.#emitter, undefined, 'factory', error)
      return 'failed'
    }
    if (outcome.skip || this.#closed) return 'skipped'
    try {
      const encoded = await this.#encode(outcome, started)
      if (!this.#current(started)) return 'skipped'
      const { expiration, grace } = outcome
      if (!(await this.#loops.replace(key, region, encoded, expiration, grace, started.base)))
        return 'skipped'
      this.stats.backgroundWrites++
      return 'written'
    } catch {
      return 'failed' // reported by the write as an `error` event
    }
  }

  /** No change of the run's key was made or heard here since its factory started. */
  #current(started: Started): boolean {
    return this.#engine.fence.keyCurrent(started.ticket)
  }

  /**
   * The factory's value ready to write, tagged when the call or the factory gave tags: with the
   * marks read before the factory ran when its tags are the call's, else with the current ones.
   */
  #encode(outcome: FactoryOutcome & { ok: true }, started: Started): Encoded | Promise<Encoded> {
    const engine = this.#engine
    const { value, tags } = outcome
    if (tags === undefined) return engine.codec.encode(value)
    if (started.marks !== undefined && tags === started.tags)
      return engine.codec.encodeTagged(value, tags, started.marks)
    return encodeTagged(engine.stamps, engine.codec, value, tags)
  }

  /**
   * Calls the factory once its key's fence ticket is taken and the call's tag marks are read
   * (see {@link Started}); `from` is the item the run refreshes or falls back to, if any.
   */
  async #start(request: LoadRequest, from: RunOrigin | undefined): Promise<Started> {
    const engine = this.#engine
    const ticket = engine.fence.enter(keyId(request.key, request.region))
    let marks: readonly number[] | undefined
    if (request.tags !== undefined) {
      // Unreadable stamps (reported): the write reads them again after the factory, as before.
      marks = await engine.stamps.marks(request.tags).catch(() => undefined)
    }
    const stale = from === undefined ? undefined : { value: from.value }
    const run = runFactory(
      request.factory,
      { ...request, cache: this.#cacheName, stale, defaultGrace: this.#defaultGrace },
      this.stats,
    )
    this.#background.track(run.abort, run.done)
    return { run, ticket, marks, tags: request.tags, base: from?.stored.version }
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
