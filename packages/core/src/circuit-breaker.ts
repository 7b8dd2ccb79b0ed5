/**
 * A per-handle circuit breaker. After `failureThreshold` consecutive failures the
 * circuit opens and calls fail fast (no timeout per call against a dead server);
 * after `resetAfterMs` one probe call is let through (half-open): its success closes
 * the circuit, its failure opens it again for another `resetAfterMs`.
 */

/** Circuit breaker tuning. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number
  /** How long the circuit stays open before one probe is let through, ms. */
  readonly resetAfterMs: number
}

/** `closed`: calls pass; `open`: calls fail fast; `half-open`: one probe is in flight. */
export type CircuitState = 'closed' | 'open' | 'half-open'

/** Default tuning: 5 consecutive failures open the circuit for 5 s. */
export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerOptions = { failureThreshold: 5, resetAfterMs: 5_000 }

/** Tracks consecutive failures of one handle and decides whether a call may go through. */
export class CircuitBreaker {
  /** Current state. */
  state: CircuitState = 'closed'
  #failures = 0
  #openedAt = 0
  readonly #options: CircuitBreakerOptions
  readonly #now: () => number

  constructor(options: CircuitBreakerOptions, now: () => number = Date.now) {
    this.#options = options
    this.#now = now
  }

  /**
   * True when a call may go through now. In half-open state only the probe does; a probe
   * that has not settled after another `resetAfterMs` (a hung call) is replaced by a new one.
   */
  allow(): boolean {
    if (this.state === 'closed') return true
    if (this.#now() - this.#openedAt < this.#options.resetAfterMs) return false
    this.state = 'half-open'
    this.#openedAt = this.#now() // the probe's start: the next probe waits another resetAfterMs
    return true
  }

  /** Records a successful call: the circuit closes. */
  success(): void {
    this.#failures = 0
    this.state = 'closed'
  }

  /** Records a failed call; opens the circuit at the threshold or when the probe failed. */
  failure(): void {
    this.#failures++
    if (this.state === 'half-open' || this.#failures >= this.#options.failureThreshold) {
      this.state = 'open'
      this.#openedAt = this.#now()
    }
  }
}
