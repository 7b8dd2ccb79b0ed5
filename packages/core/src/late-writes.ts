/**
 * Writes that land after their failure. A bottom write that failed may still be applied later:
 * ioredis sends a command that timed out in its offline queue once it reconnects, and sends
 * again the ones in flight at a disconnect; a slow server executes a command its client gave
 * up on. The failure was announced already (`WriteFanout.unsettled`), but an instance that
 * read the store between that announcement and the late write keeps what it read, for good.
 *
 * So such a key is probed: the bottom reads it again. A store that executes one connection's
 * commands in order (Redis, and Memcached per server: the shipped adapters, which send a key's
 * reads and writes on one connection) has applied or dropped the failed write by the time the
 * probe answers, whatever the probe found. The key is then settled: fenced, evicted from the
 * levels above and announced again, so every instance reads the store once more. A store
 * that answers out of order (a connection pool) gets no such promise from a probe; its late
 * writes are bounded by `maxLocalTtlMs` only.
 *
 * A probe goes to the handle directly while its circuit is closed: probes that fail must not
 * open it (one failed write would otherwise cut off the store), and they are not reported (the
 * write was). One that fails is sent again at once, a few times in a row (a failure paces
 * itself with its own round trip, unless the store fails at once), then after a backoff. While
 * the circuit is open, a probe waits a backoff, and goes once the circuit lets its own probe
 * through, as that probe. A key that fails again while its probe is out is probed once more
 * after it: the probe sent before the second write says nothing of it. Close stops every probe.
 *
 * A clear's probe is the handle's `barrier()` (every connection answered a command sent after
 * the clear's): a clear's commands may go to every server. A handle without one gets a read of
 * a reserved key (`WriteFanout.#lateClear`), which covers a store on one connection only.
 */
import { Backoff } from './backoff.js'
import type { CacheHandle, MaybePromise } from './contracts/cache-handle.js'
import { CacheplaneError, CircuitOpenError, HandleFailedError } from './errors.js'
import type { CacheEmitter } from './events.js'
import { type Layer, layerFailed, layerSucceeded, reportError } from './layer.js'

/** Probes in a row sent at once after a failed one, before the next ones back off. */
const IMMEDIATE_RETRIES = 8

/** Keys watched at most; past it a failed write is not probed (reported): memory stays bounded. */
export const MAX_LATE_WRITES = 10_000

/** What settling one key takes: the probe of the bottom, then what to do once it answered. */
export interface LateWrite {
  /** Reads the key on the bottom, on the connection the failed write went out on. */
  readonly probe: (handle: CacheHandle<unknown>) => MaybePromise<unknown>
  /** Runs once the probe answered: fence, evict above, announce. Must not throw. */
  readonly settle: () => MaybePromise<void>
}

interface Watched {
  write: LateWrite
  /** Bumped by every failure of the key; a probe settles only the failures before it. */
  generation: number
  probing: boolean
  failures: number
  readonly backoff: Backoff
  timer: ReturnType<typeof setTimeout> | undefined
}

/**
 * Whether a write of `layer` that failed with `error` may have been applied all the same: not
 * when its circuit refused it (the call never left), nor when the level answers in-process
 * (a synchronous call that throws has no reply to lose), unless it wrote a `batch`, which an
 * in-process level may have applied in part before throwing.
 */
export function mayHaveLanded(layer: Layer, error: unknown, batch = false): boolean {
  return !(error instanceof CircuitOpenError) && (batch || !layer.sync)
}

/** The keys of one manager whose failed bottom writes may still land. */
export class LateWrites {
  readonly #bottom: Layer
  readonly #emitter: CacheEmitter
  readonly #watched = new Map<string, Watched>()
  #closed = false

  constructor(bottom: Layer, emitter: CacheEmitter) {
    this.#bottom = bottom
    this.#emitter = emitter
  }

  /** Keys waiting for their probe to answer. */
  get size(): number {
    return this.#watched.size
  }

  /**
   * Watches `id` after a failed write that may land late: probes it now, and settles it once a
   * probe sent after the failure answered. An in-process bottom has no late writes: nothing.
   */
  watch(id: string, write: LateWrite): void {
    if (this.#closed || this.#bottom.sync) return
    const watched = this.#watched.get(id)
    if (watched !== undefined) {
      watched.write = write
      watched.generation++
      if (!watched.probing && watched.timer === undefined) void this.#probe(id, watched)
      return
    }
    if (this.#watched.size >= MAX_LATE_WRITES) {
      const message = `${MAX_LATE_WRITES} failed writes are waiting to settle already: '${id}' is not probed`
      reportError(this.#emitter, this.#bottom, 'settle', new HandleFailedError(message))
      return
    }
    const backoff = new Backoff({ baseDelayMs: 50, maxDelayMs: 5_000 })
    const entry: Watched = { write, generation: 0, probing: false, failures: 0, backoff, timer: undefined }
    this.#watched.set(id, entry)
    void this.#probe(id, entry)
  }

  /** Stops every probe; nothing settles after close. */
  close(): void {
    this.#closed = true
    for (const watched of this.#watched.values()) clearTimeout(watched.timer)
    this.#watched.clear()
  }

  async #probe(id: string, watched: Watched): Promise<void> {
    watched.timer = undefined
    const layer = this.#bottom
    // While the circuit is open the probe waits for its reset, then goes as the circuit's own
    // probe (a cache nobody calls would otherwise never learn that the store is back).
    const viaCircuit = layer.breaker !== undefined && layer.breaker.state !== 'closed'
    if (viaCircuit && !layer.breaker!.allow()) return this.#retryLater(id, watched)
    watched.probing = true
    const generation = watched.generation
    let answered = true
    try {
      await watched.write.probe(layer.handle)
      if (viaCircuit) layerSucceeded(layer)
    } catch (raw) {
      answered = false
      // A closed circuit's probes are not counted, nor reported (the write was): a failed
      // write's probes must not open it by themselves, cutting off a store that works.
      if (viaCircuit) layerFailed(this.#emitter, layer, 'settle', raw)
    }
    watched.probing = false
    if (this.#closed || this.#watched.get(id) !== watched) return
    if (!answered) {
      // A failure that took its own round trip paces the next probe; one that did not would spin.
      if (!viaCircuit && ++watched.failures <= IMMEDIATE_RETRIES) void this.#probe(id, watched)
      else this.#retryLater(id, watched)
      return
    }
    watched.failures = 0
    watched.backoff.reset()
    // A failure after this probe was sent is settled only by a probe sent after it.
    if (generation === watched.generation) this.#watched.delete(id)
    else void this.#probe(id, watched)
    try {
      await watched.write.settle()
    } catch (raw) {
      const error = raw instanceof CacheplaneError ? raw : new HandleFailedError(String(raw), { cause: raw })
      reportError(this.#emitter, undefined, 'settle', error)
    }
  }

  #retryLater(id: string, watched: Watched): void {
    watched.timer = setTimeout(() => void this.#probe(id, watched), watched.backoff.next())
    watched.timer.unref?.()
  }
}
