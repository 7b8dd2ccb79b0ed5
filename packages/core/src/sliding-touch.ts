/**
 * Sliding expiration behind an in-process layer. A sliding item served from memory
 * never reaches the distributed layer, whose copy would then expire while in use; so a
 * memory hit touches the distributed copies, but at most once per `ratio` of the TTL
 * (fire-and-forget, failures become `error` events). When the bottom answers that it has
 * no such item (it expired while the touch travelled, or was removed), the copies above
 * must not outlive it: `onGone` evicts them. Last-touch times are kept per key in a map
 * that is simply reset when it grows large: a reset costs a few extra touches.
 */
import type { CacheEmitter } from './events.js'
import { hitClock } from './hit-clock.js'
import { attempt, type Layer } from './layer.js'
import { keyId } from './single-flight.js'

const MAX_TRACKED = 10_000

/** Touches the distributed levels of one manager for sliding items served from above. */
export class SlidingToucher {
  /** Distributed levels below the top that can `touch`. */
  readonly layers: readonly Layer[]
  readonly #ratio: number
  readonly #emitter: CacheEmitter
  readonly #bottom: Layer
  readonly #onGone: (key: string, region: string | undefined) => void
  readonly #lastTouch = new Map<string, number>()

  constructor(
    layers: readonly Layer[],
    ratio: number,
    emitter: CacheEmitter,
    onGone: (key: string, region: string | undefined) => void,
  ) {
    this.layers = layers.filter((l) => l.index > 0 && !l.local && l.handle.touch !== undefined)
    this.#ratio = ratio
    this.#emitter = emitter
    this.#bottom = layers[layers.length - 1]!
    this.#onGone = onGone
  }

  /** A sliding item with `ttl` was served from the top: touch below unless done recently. */
  touchBelow(key: string, region: string | undefined, ttl: number): void {
    const id = keyId(key, region)
    // On every sliding hit: the reading hits share (`hit-clock.ts`) is exact enough for a throttle.
    const now = hitClock()
    const last = this.#lastTouch.get(id)
    if (last !== undefined && now - last < ttl * this.#ratio) return
    this.noteTouched(id, now)
    for (const layer of this.layers) {
      const touching = attempt<boolean | undefined>(
        this.#emitter,
        layer,
        'touch',
        (h) => h.touch!(key, region),
        undefined,
      )
      if (layer !== this.#bottom) continue
      void touching.then((touched) => {
        if (touched === false) this.#onGone(key, region)
      })
    }
  }

  /** The distributed copy of `id` was just extended (a read from it slid it). */
  noteTouched(id: string, now: number): void {
    if (this.#lastTouch.size >= MAX_TRACKED) this.#lastTouch.clear()
    this.#lastTouch.set(id, now)
  }

  /** Forgets every last-touch time (after a clear). */
  forget(): void {
    this.#lastTouch.clear()
  }
}
