import type { ExternalClearListener } from '@cacheplane/core'
import type { Generations } from './generations.js'

/**
 * The handle's `onExternalClear` side: the listeners core registers, and the timer that
 * sweeps the generation counters (re-reads every known one) every `intervalMs` while
 * the handle is bound, open and listened to. Without the sweep a counter is only re-read
 * when an operation needs it, and while the memory layer above answers every read none
 * does: the clear would never be found.
 */
export class ExternalClears {
  private readonly listeners = new Set<ExternalClearListener>()
  private generations: Generations | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  private closed = false

  constructor(private readonly intervalMs: number) {}

  /** Tells every listener that `region` (undefined: the whole cache) was cleared unannounced. */
  readonly report = (region: string | undefined): void => {
    for (const listener of this.listeners) {
      try {
        listener(region)
      } catch (error) {
        // A listener's bug is not the counter read's failure: surface it without failing the read.
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  /** Registers a listener; returns its unsubscribe function. */
  listen(listener: ExternalClearListener): () => void {
    this.listeners.add(listener)
    this.update()
    return () => {
      this.listeners.delete(listener)
      this.update()
    }
  }

  /** The counters to sweep, once the handle is bound. */
  watch(generations: Generations): void {
    this.generations = generations
    this.update()
  }

  /** Stops the sweep for good. */
  close(): void {
    this.closed = true
    this.update()
  }

  private update(): void {
    const generations = this.generations
    const wanted = generations !== undefined && !this.closed && this.listeners.size !== 0
    if (wanted && this.timer === undefined) {
      this.timer = setInterval(() => void generations.sweep(), this.intervalMs)
      // unref: a cache must never keep the process alive.
      this.timer.unref()
    } else if (!wanted && this.timer !== undefined) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }
}
