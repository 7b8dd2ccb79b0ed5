/**
 * Exponential backoff with a cap and equal jitter, for every loop that retries something
 * that failed: the bus republishing a frame, an adapter resubscribing or reconnecting, a
 * replay retrying its stream. One helper, so that every loop backs off the same way.
 *
 * Delay `n` (from 0) is drawn uniformly from `[c/2, c]` where `c = min(maxDelayMs,
 * baseDelayMs * 2^n)`: the half that is fixed keeps the average growing, the random half
 * keeps instances that failed together (a server restart) from retrying in lockstep.
 */
import { InvalidOptionsError } from './errors.js'

/** Tuning of a {@link Backoff}. */
export interface BackoffOptions {
  /** Ceiling of the first delay, ms; each later ceiling doubles it. */
  readonly baseDelayMs: number
  /** Largest ceiling, ms; must be at least `baseDelayMs`. */
  readonly maxDelayMs: number
  /** Uniform random number in `[0, 1)`; default `Math.random` (tests inject their own). */
  readonly random?: (() => number) | undefined
}

/** Past 2^30 every ceiling is `maxDelayMs` anyway; capping the exponent keeps the product finite. */
const MAX_EXPONENT = 30

/** The delays of one retry loop: call `next()` before each retry and `reset()` after a success. */
export class Backoff {
  readonly #baseDelayMs: number
  readonly #maxDelayMs: number
  readonly #random: () => number
  #attempt = 0

  /** Throws `InvalidOptionsError` for a non-positive base or a cap below the base. */
  constructor(options: BackoffOptions) {
    const { baseDelayMs, maxDelayMs } = options
    if (!Number.isFinite(baseDelayMs) || baseDelayMs <= 0) {
      throw new InvalidOptionsError(
        `backoff: baseDelayMs must be a positive number of ms, got ${baseDelayMs}`,
      )
    }
    if (!Number.isFinite(maxDelayMs) || maxDelayMs < baseDelayMs) {
      throw new InvalidOptionsError(
        `backoff: maxDelayMs must be a number of ms >= baseDelayMs (${baseDelayMs}), got ${maxDelayMs}`,
      )
    }
    this.#baseDelayMs = baseDelayMs
    this.#maxDelayMs = maxDelayMs
    this.#random = options.random ?? Math.random
  }

  /** Delays handed out since the last `reset()`. */
  get attempts(): number {
    return this.#attempt
  }

  /** The delay before the next retry, ms; each call counts one attempt. */
  next(): number {
    const exponent = Math.min(this.#attempt, MAX_EXPONENT)
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** exponent)
    this.#attempt++
    return ceiling / 2 + (this.#random() * ceiling) / 2
  }

  /** Starts over from `baseDelayMs`: the thing being retried worked. */
  reset(): void {
    this.#attempt = 0
  }

  /**
   * Waits the next delay. Resolves `true` once it elapsed, `false` as soon as `signal` aborts
   * (at once if it already has), so a closed owner does not keep its loop alive for a delay.
   * The timer is not unref'd: an `await`ed loop keeps the process alive like any pending I/O.
   */
  wait(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted === true) return Promise.resolve(false)
    const ms = this.next()
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer)
        resolve(false)
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve(true)
      }, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}
