/**
 * Cluster-wide single flight for getOrAdd (`distributedLock`): which instance runs a cold
 * key's factory, and how the others wait for its value.
 *
 * After its read missed, the caller (already alone for the key in its process) registers as
 * a waiter, then tries the bottom handle's lock:
 * - taken: it reads once more (the previous holder may have written and released between
 *   the miss and the acquire) and runs the factory only if that read misses too; the
 *   factory's write announces the key on the backplane, which wakes the others;
 * - held by another instance: it reads once more (a write that landed before it
 *   registered sends no message it could still hear), then waits. The holder's message
 *   (or a local write, a clear) wakes it; a check every `checkIntervalMs` covers a lost
 *   message. Each wake re-reads; a miss tries the lock again, so once a crashed holder's
 *   lock expires (its TTL) exactly one waiter takes it over;
 * - unavailable (no lock in the handle, store down): the factory runs here, coalesced
 *   in-process only.
 * The soft timeout (with a graced value) and the hard timeout bound the wait as they bound
 * a factory: the loader then serves the graced value or fails as for a slow factory.
 */
import { ClosedError } from './errors.js'
import type { CacheEmitter } from './events.js'
import type { ClusterLock, Lease, LockPolicy } from './distributed-lock.js'
import type { LockWait, LockWaiters, WakeReason } from './lock-waiters.js'
import { keyId } from './single-flight.js'
import type { SyncEngine } from './sync-engine.js'

/** How a call's turn at the lock ended. */
export type FlightOutcome =
  | { readonly kind: 'found'; readonly value: unknown }
  /** Run the factory; release `lease` (undefined: in-process only) once its result is written. */
  | { readonly kind: 'run'; readonly lease: Lease | undefined }
  /** Waited past the soft (graced value known) or hard timeout for another instance's value. */
  | { readonly kind: 'timeout'; readonly reason: 'soft' | 'hard' }

/** Limits of one wait, ms (0 = none). */
export interface FlightLimits {
  readonly softTimeoutMs: number
  readonly hardTimeoutMs: number
}

const RUN_HERE: FlightOutcome = { kind: 'run', lease: undefined }

/** The waiting side of `distributedLock` for one manager. */
export class ClusterFlight {
  readonly #engine: SyncEngine
  readonly #lock: ClusterLock
  readonly #waiters: LockWaiters
  readonly #emitter: CacheEmitter
  #closed = false

  constructor(engine: SyncEngine, lock: ClusterLock, waiters: LockWaiters, emitter: CacheEmitter) {
    this.#engine = engine
    this.#lock = lock
    this.#waiters = waiters
    this.#emitter = emitter
  }

  /** Decides who runs the factory of `key`; resolves with the value when another instance wrote it. */
  async enter(
    key: string,
    region: string | undefined,
    policy: LockPolicy,
    limits: FlightLimits,
  ): Promise<FlightOutcome> {
    const id = keyId(key, region)
    const started = Date.now()
    for (let waited = false; ; waited = true) {
      const wait = this.#waiters.register(id)
      const acquired = await this.#lock.acquire(key, region, policy.ttlMs)
      if (acquired === 'unavailable') {
        wait.cancel()
        return RUN_HERE
      }
      if (acquired !== 'held') {
        wait.cancel()
        return this.#won(key, region, acquired, waited ? started : undefined)
      }
      const early = await this.#engine.read(key, region, 0)
      if (early !== undefined) {
        wait.cancel()
        return { kind: 'found', value: early.value }
      }
      const woke = await this.#wait(wait, policy, limits, started)
      if (this.#closed) throw new ClosedError('the cache was closed')
      const found = await this.#engine.read(key, region, 0)
      if (found !== undefined) {
        this.#emit(key, region, { type: 'woken', reason: woke, started })
        return { kind: 'found', value: found.value }
      }
      const timeout = expired(limits, started)
      if (timeout !== undefined) return { kind: 'timeout', reason: timeout }
    }
  }

  /** Wakes every waiter; their calls then fail with ClosedError. */
  close(): void {
    this.#closed = true
    this.#waiters.wakeAll('closed')
  }

  /** The lock is ours: a value written meanwhile is served, else the factory runs under the lease. */
  async #won(
    key: string,
    region: string | undefined,
    lease: Lease,
    waitedSince: number | undefined,
  ): Promise<FlightOutcome> {
    const found = await this.#engine.read(key, region, 0)
    if (found !== undefined) {
      lease.release()
      return { kind: 'found', value: found.value }
    }
    if (waitedSince !== undefined) this.#emit(key, region, { type: 'takeover', started: waitedSince })
    return { kind: 'run', lease }
  }

  /** Waits for a wake, at most until the next check or the first timeout left. */
  #wait(wait: LockWait, policy: LockPolicy, limits: FlightLimits, started: number): Promise<WakeReason> {
    let ms = policy.checkIntervalMs
    const now = Date.now()
    if (limits.softTimeoutMs !== 0) ms = Math.min(ms, started + limits.softTimeoutMs - now)
    if (limits.hardTimeoutMs !== 0) ms = Math.min(ms, started + limits.hardTimeoutMs - now)
    return wait.until(ms)
  }

  #emit(
    key: string,
    region: string | undefined,
    event: { type: 'woken'; reason: WakeReason; started: number } | { type: 'takeover'; started: number },
  ): void {
    if (!this.#emitter.has('distributedLock')) return
    const waitedMs = Date.now() - event.started
    this.#emitter.emit(
      'distributedLock',
      event.type === 'woken'
        ? { type: 'woken', key, region, reason: event.reason, waitedMs }
        : { type: 'takeover', key, region, waitedMs },
    )
  }
}

/** The timeout a wait that began at `started` has reached, if any. */
function expired(limits: FlightLimits, started: number): 'soft' | 'hard' | undefined {
  const elapsed = Date.now() - started
  if (limits.hardTimeoutMs !== 0 && elapsed >= limits.hardTimeoutMs) return 'hard'
  if (limits.softTimeoutMs !== 0 && elapsed >= limits.softTimeoutMs) return 'soft'
  return undefined
}
