/**
 * The `onExternalClear` side of a handle that keeps generations locally (see
 * {@link GenerationCounters}): the listeners core registers, and a timer that sweeps the
 * generations (re-reads every known one) every `intervalMs` while the handle is bound, open
 * and listened to. Without the sweep a generation is only re-read when an operation needs
 * it, and while the memory layer above answers every read none does: a clear by an instance
 * nobody heard would never be found.
 */
import type { ExternalClearListener } from './contracts/cache-handle.js'

/** What the sweep re-reads: a {@link GenerationCounters}. */
export interface Sweepable {
  sweep(): Promise<void>
}

/** Listeners of unannounced clears, and the timer that looks for them. */
export class ExternalClearSweep {
  readonly #listeners = new Set<ExternalClearListener>()
  readonly #intervalMs: number
  #target: Sweepable | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #closed = false

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs
  }

  /** Tells every listener that `region` (undefined: the whole cache) was cleared unannounced. */
  readonly report = (region: string | undefined): void => {
    for (const listener of this.#listeners) {
      try {
        listener(region)
      } catch (error) {
        // A listener's bug is not the generation read's failure: surface it without failing the read.
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  /** Registers a listener (a handle's `onExternalClear`); returns its unsubscribe function. */
  listen(listener: ExternalClearListener): () => void {
    this.#listeners.add(listener)
    this.#update()
    return () => {
      this.#listeners.delete(listener)
      this.#update()
    }
  }

  /** What to sweep, once the handle is bound. */
  watch(target: Sweepable): void {
    this.#target = target
    this.#update()
  }

  /** Stops the sweep for good. */
  close(): void {
    this.#closed = true
    this.#update()
  }

  #update(): void {
    const target = this.#target
    const wanted = target !== undefined && !this.#closed && this.#listeners.size !== 0
    if (wanted && this.#timer === undefined) {
      this.#timer = setInterval(() => void target.sweep(), this.#intervalMs)
      // unref: a cache must never keep the process alive.
      this.#timer.unref()
    } else if (!wanted && this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }
}
