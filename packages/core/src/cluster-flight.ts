/**
 * Cluster-wide single flight for getOrAdd (`distributedLock`): which instance runs a cold
 * key's factory, and how the others wait for its value.
 *
 * After its read missed, the caller (already alone for the key in its process) registers as
 * a waiter, then asks the bottom handle for the lock and, in the same turn, reads the key
 * once more, so a turn at the lock costs one round trip where the store pipelines both:
 * - taken: the read, sent after the acquire, sees a value a previous holder wrote before it
 *   released; the factory runs only if it missed. Its write announces the key on the
 *   backplane, which wakes the others. (Where the lock and the item travel on different
 *   connections, a Memcached pool or a Redis Cluster, the read may overtake the acquire; a
 *   previous holder's write-and-release landing in between then costs one more factory
 *   call, whose `add` finds that value and returns it, never a different one.)
 * - held by another instance: the read covers a write that landed before this waiter
 *   registered (it sends no message the waiter could still hear); on a miss it waits. The
 *   holder's message (or a local write, a clear) wakes it; a check every `checkIntervalMs`
 *   covers a lost message. Each wake re-reads; a miss takes another turn at the lock, so once
 *   a crashed holder's lock expires (its TTL) exactly one waiter takes it over;
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

/** What one turn at the lock decided: an outcome, or wait for the holder's value. */
type Turn = FlightOutcome | { readonly kind: 'wait' }
const WAIT: Turn = { kind: 'wait' }

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
      const turn = await this.#turn(key, region, policy)
      if (turn.kind !== 'wait') {
        wait.cancel()
        if (turn.kind === 'run' && turn.lease !== undefined && waited)
          this.#emit(key, region, { type: 'takeover', started })
        return turn
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

  /**
   * One turn at the lock: the acquire, and the read sent right behind it (see the header).
   * A lease is released when the read found the value or failed.
   */
  async #turn(key: string, region: string | undefined, policy: LockPolicy): Promise<Turn> {
    const acquiring = this.#lock.acquire(key, region, policy.ttlMs)
    const reading = this.#engine.read(key, region, 0)
    const acquired = await acquiring
    let found: Awaited<typeof reading>
    try {
      found = await reading
    } catch (error) {
      if (typeof acquired === 'object') acquired.release()
      throw error
    }
    if (found !== undefined) {
      if (typeof acquired === 'object') acquired.release()
      return { kind: 'found', value: found.value }
    }
    if (acquired === 'held') return WAIT
    return acquired === 'unavailable' ? RUN_HERE : { kind: 'run', lease: acquired }
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
