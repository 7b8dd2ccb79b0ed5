/**
 * Fail-safe bookkeeping of one manager: the throttle windows after a failure, and the
 * background factory runs (soft/hard timeout completions, eager refreshes), one per key.
 *
 * The throttle holds only a deadline per key, never a value: what a throttled getOrAdd
 * serves is the graced item it reads from the layers at that moment, so a remove, a clear
 * or a remote change that reaches those layers is honoured at once (a removed value is
 * never served, and a fresh value found by the read wins over any throttle).
 */

/** Keys whose factory or store failed recently: getOrAdd serves their graced value without calling the factory. */
export class FailSafeThrottle {
  readonly #until = new Map<string, number>()

  /** True while `id`'s throttle window is open (an expired window is forgotten). */
  active(id: string): boolean {
    if (this.#until.size === 0) return false
    const until = this.#until.get(id)
    if (until === undefined) return false
    if (Date.now() < until) return true
    this.#until.delete(id)
    return false
  }

  /** Opens (or extends) `id`'s window for `ms`. */
  arm(id: string, ms: number): void {
    const now = Date.now()
    // Windows end on their own; prune the ended ones now and then so the map stays small.
    if (this.#until.size >= 1024) {
      for (const [key, until] of this.#until) if (until <= now) this.#until.delete(key)
    }
    this.#until.set(id, now + ms)
  }

  /** Forgets every window (close). */
  clear(): void {
    this.#until.clear()
  }

  /** Keys with a window (tests). */
  get size(): number {
    return this.#until.size
  }
}

/** Background factory runs, at most one per key, and their abort functions for close. */
export class BackgroundRuns {
  readonly #running = new Map<string, Promise<void>>()
  readonly #aborts = new Set<(reason: unknown) => void>()

  /** True while a background run of `id` is going on. */
  has(id: string): boolean {
    return this.#running.size !== 0 && this.#running.has(id)
  }

  /** Starts `work` for `id` unless one runs; false when one was already running. */
  start(id: string, work: () => Promise<void>): boolean {
    if (this.#running.has(id)) return false
    const running = work().finally(() => {
      this.#running.delete(id)
    })
    this.#running.set(id, running)
    return true
  }

  /** Tracks an abort function until `done` settles (close aborts what is still running). */
  track(abort: (reason: unknown) => void, done: Promise<unknown>): void {
    this.#aborts.add(abort)
    void done.finally(() => this.#aborts.delete(abort))
  }

  /** Aborts every tracked factory (close); a factory that ignores its signal is not waited for. */
  abortAll(reason: unknown): void {
    for (const abort of this.#aborts) abort(reason)
  }

  /** Background runs in flight (tests). */
  get size(): number {
    return this.#running.size
  }
}
