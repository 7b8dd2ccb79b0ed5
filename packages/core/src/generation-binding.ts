/**
 * The cache side of a handle that clears by generations (see {@link GenerationCounters}):
 * binding to a cache, `clear`, `clearRegion`, `onRemoteClear`, `onExternalClear` and
 * close, the same for every such handle. The handle supplies what `bind` creates (its key
 * layout and counters on its store) and keeps its reads and writes.
 */
import type { ExternalClearListener } from './contracts/cache-handle.js'
import { ExternalClearSweep } from './external-clear-sweep.js'
import type { GenerationCounters } from './generation-counters.js'
import { HandleBinding } from './handle-binding.js'

/** What a generation-keyed handle sets up for its cache: at least its counters. */
export interface GenerationScope<T> {
  readonly generations: GenerationCounters<T>
}

/** Binding, clears and the external-clear sweep of one generation-keyed handle. */
export class GenerationBinding<T, S extends GenerationScope<T>> {
  readonly #binding: HandleBinding<S>
  readonly #sweep: ExternalClearSweep

  /** `label` names the handle in errors; `refreshMs` is how often the counters are swept for unannounced clears. */
  constructor(label: string, source: string, refreshMs: number) {
    this.#binding = new HandleBinding(label, source)
    this.#sweep = new ExternalClearSweep(refreshMs)
  }

  /** Tells the `onExternalClear` listeners; give it to the counters as `onUnannounced`. */
  get report(): (region: string | undefined) => void {
    return this.#sweep.report
  }

  /** `bind(cacheName)`: creates the scope the first time (see HandleBinding) and sweeps its counters. */
  bind(cacheName: string, create: (cacheName: string) => S): void {
    const bound = this.#binding.bind(cacheName, create)
    if (bound !== undefined) this.#sweep.watch(bound.generations)
  }

  /** The bound cache's scope; throws ClosedError after close, InvalidOptionsError before bind. */
  scope(): S {
    return this.#binding.scope()
  }

  /** `clear()`: a new cache generation. */
  async clear(): Promise<void> {
    await this.#binding.scope().generations.bumpCache()
  }

  /** `clearRegion()`: a new generation of the region. */
  async clearRegion(region: string): Promise<void> {
    await this.#binding.scope().generations.bumpRegion(region)
  }

  /** `onRemoteClear()`: re-read what another instance cleared (every generation after a gap). */
  async onRemoteClear(region: string | undefined): Promise<void> {
    await this.#binding.scope().generations.refresh(region)
  }

  /** `onExternalClear()`: a generation found changed that nobody announced. */
  onExternalClear(listener: ExternalClearListener): () => void {
    return this.#sweep.listen(listener)
  }

  /** Stops the sweep; true the first time, so the handle releases its resources once. */
  close(): boolean {
    if (!this.#binding.close()) return false
    this.#sweep.close()
    return true
  }
}
