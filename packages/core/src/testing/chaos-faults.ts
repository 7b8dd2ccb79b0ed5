/**
 * The faults a chaos handle injects, apart from the handle: pending and permanent failures,
 * latency, and holds that keep an answer from its caller. Every disturbed call goes
 * through {@link ChaosFaults.run}.
 */
import type { MaybePromise } from '../contracts/cache-handle.js'

/** Handle operations the chaos wrapper can disturb (`bind`, `onEvict`, `onExternalClear` and `close` pass straight through). */
export type ChaosOperation =
  | 'get'
  | 'getMany'
  | 'setMany'
  | 'removeMany'
  | 'lock'
  | 'add'
  | 'set'
  | 'update'
  | 'remove'
  | 'expire'
  | 'touch'
  | 'peek'
  | 'clear'
  | 'clearRegion'
  | 'onRemoteClear'
  | 'barrier'

interface Hold {
  readonly ops: ReadonlySet<ChaosOperation> | undefined
  readonly released: Promise<void>
}

/** The fault state of one chaos handle. */
export class ChaosFaults {
  private pendingFailures = 0
  private pendingError: unknown
  private always = false
  private alwaysError: unknown
  private delayMs = 0
  private readonly holds = new Set<Hold>()
  /** Calls waiting on a hold now. */
  held = 0
  /** Disturbed calls made so far, failed or not. */
  calls = 0

  /** `disturbed`: the operations faults apply to; undefined for all of them. */
  constructor(
    private readonly handleName: string,
    private readonly disturbed: ReadonlySet<ChaosOperation> | undefined,
  ) {}

  /** Makes `call` as operation `op`, with the faults in force. */
  async run<T>(op: ChaosOperation, call: () => MaybePromise<T>): Promise<T> {
    if (this.disturbed !== undefined && !this.disturbed.has(op)) return call()
    this.calls++
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs))
    const error = this.failure(op)
    if (error !== undefined) throw error
    let result: T
    try {
      result = await call()
    } catch (cause) {
      // A failed call is held too: the caller must not learn of it earlier than of a success.
      await this.waitForHolds(op)
      throw cause
    }
    await this.waitForHolds(op)
    return result
  }

  failNext(n = 1, error?: unknown): void {
    this.pendingFailures = n
    this.pendingError = error
  }

  failAlways(on = true, error?: unknown): void {
    this.always = on
    this.alwaysError = error
  }

  delay(ms: number): void {
    this.delayMs = ms
  }

  hold(ops?: readonly ChaosOperation[]): () => void {
    let release!: () => void
    const hold: Hold = {
      ops: ops === undefined ? this.disturbed : new Set(ops),
      released: new Promise<void>((resolve) => {
        release = resolve
      }),
    }
    this.holds.add(hold)
    return () => {
      this.holds.delete(hold)
      release()
    }
  }

  private failure(op: ChaosOperation): unknown {
    if (this.always)
      return this.alwaysError ?? new Error(`chaos: ${this.handleName}.${op} failed (failAlways)`)
    if (this.pendingFailures === 0) return undefined
    this.pendingFailures--
    return this.pendingError ?? new Error(`chaos: ${this.handleName}.${op} failed (failNext)`)
  }

  private async waitForHolds(op: ChaosOperation): Promise<void> {
    const matching = [...this.holds].filter((h) => h.ops === undefined || h.ops.has(op))
    if (matching.length === 0) return
    this.held++
    try {
      await Promise.all(matching.map((h) => h.released))
    } finally {
      this.held--
    }
  }
}
