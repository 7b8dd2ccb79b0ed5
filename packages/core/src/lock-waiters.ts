/**
 * The getOrAdd calls waiting for another instance's factory (`distributedLock`), by key.
 *
 * A waiter is woken by what makes the winner's value readable: the winner's backplane
 * message for the key (`message`), a local write of the key by this process
 * (`local-write`), a clear (`clear`); or, when none comes, by its own fallback check
 * (`check`: a lost message, a holder that crashed or wrote nothing). The sync engine calls
 * {@link LockWaiters.wake} where it applies those changes; with nobody waiting that costs one
 * size test.
 */

/** Why a waiter stopped waiting. */
export type WakeReason = 'message' | 'local-write' | 'clear' | 'check' | 'closed'

/** One registered waiter: woken once, then unregistered. */
export class LockWait {
  readonly #registry: LockWaiters
  readonly #id: string
  readonly #woken: Promise<WakeReason>
  #resolve!: (reason: WakeReason) => void
  #timer: ReturnType<typeof setTimeout> | undefined
  #done = false

  constructor(registry: LockWaiters, id: string) {
    this.#registry = registry
    this.#id = id
    this.#woken = new Promise<WakeReason>((resolve) => {
      this.#resolve = resolve
    })
  }

  /** The reason of the first wake, or `check` once `ms` have passed without one. */
  until(ms: number): Promise<WakeReason> {
    if (!this.#done) this.#timer = setTimeout(() => this.wake('check'), Math.max(0, ms))
    return this.#woken
  }

  /** Ends the wait with `reason` (the first reason wins). */
  wake(reason: WakeReason): void {
    if (this.#done) return
    this.#done = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#registry.forget(this.#id, this)
    this.#resolve(reason)
  }

  /** Stops waiting without a reason anyone reads (the caller got its answer another way). */
  cancel(): void {
    this.wake('closed')
  }
}

/** Waiters by key id (`keyId`). */
export class LockWaiters {
  readonly #byKey = new Map<string, Set<LockWait>>()

  /** Number of keys with a waiter: the engine's hooks test it before anything else. */
  get size(): number {
    return this.#byKey.size
  }

  /**
   * Registers a waiter for key `id`. Register before asking for the lock: a message that
   * arrives between a refused acquire and the wait must not be lost.
   */
  register(id: string): LockWait {
    const wait = new LockWait(this, id)
    let set = this.#byKey.get(id)
    if (set === undefined) {
      set = new Set()
      this.#byKey.set(id, set)
    }
    set.add(wait)
    return wait
  }

  /** Wakes every waiter of key `id`. */
  wake(id: string, reason: WakeReason): void {
    const set = this.#byKey.get(id)
    if (set === undefined) return
    for (const wait of [...set]) wait.wake(reason)
  }

  /** Wakes every waiter (a clear, a gap, close). */
  wakeAll(reason: WakeReason): void {
    for (const set of [...this.#byKey.values()]) for (const wait of [...set]) wait.wake(reason)
  }

  /** Drops a woken waiter (called by {@link LockWait.wake}). */
  forget(id: string, wait: LockWait): void {
    const set = this.#byKey.get(id)
    if (set === undefined) return
    set.delete(wait)
    if (set.size === 0) this.#byKey.delete(id)
  }
}
