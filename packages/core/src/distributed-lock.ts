/**
 * getOrAdd's cluster lock (`distributedLock`): its options, and taking and releasing it in
 * the bottom handle (`HandleLock`) with core's error policy.
 *
 * The lock is an optimisation, never a dependency: a handle without one, a bottom that is
 * not distributed, or a store that fails to answer leaves the call to in-process coalescing
 * (the manager's single flight), with a `distributedLock` event, and never fails the call.
 * Acquire errors go through the bottom layer's circuit breaker, so a dead store costs one
 * fast refusal per cold key, not a timeout.
 */
import { randomBytes } from 'node:crypto'
import { InvalidOptionsError } from './errors.js'
import type { CacheEmitter } from './events.js'
import { attempt, guard, type Layer } from './layer.js'
import { MAX_TTL_MS } from './validation.js'

/** `distributedLock` as a manager default or a getOrAdd override. */
export interface DistributedLockOptions {
  /**
   * Lifetime of a lock, ms; default 10,000. It bounds how long a crashed holder keeps the
   * others waiting, so keep it above the factory's usual time (a factory still running when
   * its lock expires lets a second instance start one).
   */
  readonly ttlMs?: number | undefined
  /**
   * A waiter that hears no message re-reads (and tries the lock) this often, ms; default
   * `ttlMs / 10`. Covers a lost message or a holder that wrote nothing.
   */
  readonly checkIntervalMs?: number | undefined
}

/** The option: `true` for the defaults, `false` (default) for in-process coalescing only. */
export type DistributedLockOption = boolean | DistributedLockOptions

/** A resolved `distributedLock`. */
export interface LockPolicy {
  /** Lock lifetime, ms. */
  readonly ttlMs: number
  /** Fallback check interval, ms. */
  readonly checkIntervalMs: number
}

const DEFAULT_TTL_MS = 10_000

/** The policy of `option`, `base` when it is undefined; undefined means off. InvalidOptionsError for bad values. */
export function resolveLockOption(
  option: DistributedLockOption | undefined,
  base: LockPolicy | undefined,
  what: string,
): LockPolicy | undefined {
  if (option === undefined) return base
  if (option === false) return undefined
  if (option === true) return { ttlMs: DEFAULT_TTL_MS, checkIntervalMs: DEFAULT_TTL_MS / 10 }
  if (typeof option !== 'object' || option === null) {
    throw new InvalidOptionsError(`${what} must be true, false or { ttlMs, checkIntervalMs }`)
  }
  const ttlMs = option.ttlMs ?? DEFAULT_TTL_MS
  checkLockMs(ttlMs, `${what}.ttlMs`)
  const checkIntervalMs = option.checkIntervalMs ?? ttlMs / 10
  checkLockMs(checkIntervalMs, `${what}.checkIntervalMs`)
  return { ttlMs, checkIntervalMs }
}

function checkLockMs(ms: unknown, what: string): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0 || ms > MAX_TTL_MS) {
    throw new InvalidOptionsError(
      `${what} must be a positive finite number of milliseconds, got ${String(ms)}`,
    )
  }
}

/** A lock this instance holds; released once (best effort, failures reported). */
export interface Lease {
  /** Gives the lock back; never throws. */
  release(): void
}

/** What an acquire got: the lock, `held` by another owner, or `unavailable` (in-process only). */
export type Acquired = Lease | 'held' | 'unavailable'

/** Takes and releases locks in the bottom handle of one manager. */
export class ClusterLock {
  readonly #layer: Layer
  readonly #emitter: CacheEmitter
  /** Owner tokens are this plus a counter: unique per acquire, unguessable across instances. */
  readonly #owner = randomBytes(12).toString('base64url')
  #sequence = 0
  #warned = false

  constructor(bottom: Layer, emitter: CacheEmitter) {
    this.#layer = bottom
    this.#emitter = emitter
  }

  /** Tries to take the lock of `key` for `ttlMs`; never rejects. */
  async acquire(key: string, region: string | undefined, ttlMs: number): Promise<Acquired> {
    const layer = this.#layer
    const lock = layer.local ? undefined : layer.handle.lock
    if (lock === undefined) {
      this.#unsupported()
      return 'unavailable'
    }
    const owner = `${this.#owner}.${(this.#sequence++).toString(36)}`
    let taken: boolean
    try {
      taken = await guard(this.#emitter, layer, 'lock', () => lock.acquire(key, region, owner, ttlMs))
    } catch (error) {
      // Reported as an `error` event by guard; the call goes on with in-process coalescing.
      if (this.#emitter.has('distributedLock'))
        this.#emitter.emit('distributedLock', { type: 'unavailable', key, region, error })
      return 'unavailable'
    }
    if (!taken) return 'held'
    let released = false
    return {
      release: () => {
        if (released) return
        released = true
        void attempt(this.#emitter, layer, 'lock-release', () => lock.release(key, region, owner), false)
      },
    }
  }

  /** Says once per manager that its bottom handle cannot hold cluster locks. */
  #unsupported(): void {
    // Once to a listener: a call made before anyone listened does not use the warning up.
    if (this.#warned || !this.#emitter.has('distributedLock')) return
    this.#warned = true
    const layer = this.#layer
    const reason = layer.local ? 'not-distributed' : 'no-lock'
    this.#emitter.emit('distributedLock', { type: 'unsupported', handle: layer.name, reason })
  }
}
