/**
 * The scheduler the test controls. Everything that crosses a "network" in a history is a
 * pending task here instead of happening by itself: a store call reaching the store, its
 * reply reaching the caller, a backplane frame reaching an instance, a gap notification.
 * The runner decides which pending task runs next (from the generated history), so the
 * interleaving is generated, reproducible from the seed, and shrunk like the rest.
 *
 * The code under test also uses the event loop on its own (the bus flushes its outbound
 * queue on the next turn with `setImmediate`); {@link Scheduler.settle} lets those turns
 * run until nothing changes any more, so at each decision the set of pending tasks is a
 * function of the history alone. No real timer is involved anywhere in a history.
 */

/** What a pending task stands for. */
export type TaskKind = 'exec' | 'reply' | 'deliver' | 'gap'

/** One pending task. `run(fault)`: a fault refuses an exec or loses a reply; deliveries and gaps ignore it. */
export interface Task {
  readonly id: number
  readonly kind: TaskKind
  /** The instance the task happens at (the caller of a store call, the receiver of a frame). */
  readonly instance: number
  /** For the timeline: what the task is. */
  readonly label: string
  /**
   * The ordered connection it travels on (one instance's requests, its replies, one
   * sender's frames to one receiver), if any: with ordered connections a task runs only
   * after the older tasks of its connection.
   */
  readonly connection?: string
  run(fault: boolean): void | Promise<void>
  /**
   * A store request only: its caller stops waiting (gets an error now); the task stays pending
   * and, when it runs, reaches the store with nobody to hear the reply. False when it cannot
   * time out (it did already).
   */
  timeOut?(): boolean
}

/** The pending tasks and the settling of the event loop. */
export class Scheduler {
  readonly #pending: Task[] = []
  #nextId = 1
  #activity = 0

  /** Tasks waiting to run, oldest first. */
  get pending(): readonly Task[] {
    return this.#pending
  }

  /** Adds a pending task. */
  add(task: Omit<Task, 'id'>): Task {
    const added = { ...task, id: this.#nextId++ }
    this.#pending.push(added)
    this.#activity++
    return added
  }

  /**
   * Removes and returns the task at `pick` modulo the number of tasks that may run now
   * (undefined when none is pending). With `ordered`, a task may run only when no older
   * task of its connection is pending, as over one TCP connection; without, anything goes
   * (a connection pool, or a store that answers out of order).
   */
  take(pick: number, ordered: boolean): Task | undefined {
    const runnable = ordered ? this.#pending.filter((task) => this.#first(task)) : this.#pending
    if (runnable.length === 0) return undefined
    const task = runnable[pick % runnable.length]!
    this.#pending.splice(this.#pending.indexOf(task), 1)
    return task
  }

  /** Times out the pending request at `pick` modulo the number of those that can; false when none can. */
  timeOut(pick: number): boolean {
    const requests = this.#pending.filter((task) => task.timeOut !== undefined)
    for (let n = 0; n < requests.length; n++) {
      if (requests[(pick + n) % requests.length]!.timeOut!()) {
        this.#activity++
        return true
      }
    }
    return false
  }

  /** No older task of `task`'s connection is pending. */
  #first(task: Task): boolean {
    if (task.connection === undefined) return true
    return this.#pending.find((other) => other.connection === task.connection) === task
  }

  /** Removes the pending tasks that match; returns them. */
  discard(match: (task: Task) => boolean): Task[] {
    const removed = this.#pending.filter(match)
    for (const task of removed) this.#pending.splice(this.#pending.indexOf(task), 1)
    return removed
  }

  /** Something observable happened (an operation settled, a frame was published): settling goes on. */
  touch(): void {
    this.#activity++
  }

  /**
   * Lets the event loop turn until two turns in a row change nothing (no task added, no
   * operation settled). Bounded: code that keeps scheduling work forever is reported.
   */
  async settle(maxTurns = 200): Promise<void> {
    let seen = -1
    let quiet = 0
    for (let turn = 0; turn < maxTurns; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (this.#activity === seen) {
        if (++quiet >= 2) return
      } else {
        quiet = 0
        seen = this.#activity
      }
    }
    throw new Error(`model: the event loop did not settle within ${maxTurns} turns`)
  }
}
