/**
 * The liveness probe a transport runs on its subscriber connection: one round trip to the
 * server (a Redis PING, a NATS flush) at a time, so its cost is O(1) per instance and never
 * traffic fanned out to the other instances.
 *
 * Timing: with interval I and deadline D, both `maxSilenceMs / 2`, silence that begins right
 * after an answer is noticed when the next round trip, sent I later, is still unanswered D
 * after it was sent: within I + D = maxSilenceMs. While suspect it keeps sending one round
 * trip per `maxSilenceMs`; any answer received after a round trip was sent proves the server
 * answered since, whichever request the client matched it to (clients match answers in
 * order, so after lost requests an answer may settle an older one).
 *
 * A deadline is checked on the turn after its timer fired (`setImmediate`): timers run before
 * the I/O phase, so after the event loop was blocked (GC, a long task) an answer already
 * waiting in the socket is read before it is judged missing. Only the server's or the
 * network's delay counts, not ours.
 */
import { InvalidOptionsError } from '../errors.js'

/**
 * Default `maxSilenceMs`: 1.5 s. The probe's deadline is half of it (750 ms), over 100 times a
 * cross-zone round trip and above what a loaded server takes to answer PING; the staleness
 * bound during a silent partition stays under two seconds.
 */
export const DEFAULT_MAX_SILENCE_MS = 1_500

/** Smallest accepted `maxSilenceMs`, ms: below it timer slack alone would raise false alarms. */
export const MIN_MAX_SILENCE_MS = 100

/** Largest accepted `maxSilenceMs`, ms (one hour). */
export const MAX_MAX_SILENCE_MS = 3_600_000

/** `maxSilenceMs` with its default applied; throws InvalidOptionsError naming `source` when invalid. */
export function resolveMaxSilenceMs(value: unknown, source: string): number {
  if (value === undefined) return DEFAULT_MAX_SILENCE_MS
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < MIN_MAX_SILENCE_MS ||
    value > MAX_MAX_SILENCE_MS
  ) {
    throw new InvalidOptionsError(
      `${source}: maxSilenceMs must be a number of ms from ${MIN_MAX_SILENCE_MS} to ${MAX_MAX_SILENCE_MS}, got ${String(value)}`,
    )
  }
  return value
}

/** What a {@link LivenessProbe} needs: a round trip, and where to report. */
export interface LivenessProbeOptions {
  /** Longest silence before `onSuspect`, ms (see {@link resolveMaxSilenceMs}). */
  readonly maxSilenceMs: number
  /** One request the server answers; resolves with the answer. A rejection counts as no answer. */
  readonly roundTrip: () => Promise<unknown>
  /** No answer within the bound. Called once per silence. */
  readonly onSuspect: (detail: string) => void
  /** An answer arrived after {@link onSuspect}. */
  readonly onLive: (detail: string) => void
}

/** Round trips to the server on a timer; reports silence and its end. */
export class LivenessProbe {
  readonly #options: LivenessProbeOptions
  readonly #intervalMs: number
  #next: NodeJS.Timeout | undefined
  #lastAnswerAt = 0
  #suspectSince = 0
  #stopped = false

  /** Starts probing at once (the first round trip goes out after one interval). */
  constructor(options: LivenessProbeOptions) {
    this.#options = options
    this.#intervalMs = options.maxSilenceMs / 2
    this.#lastAnswerAt = performance.now()
    this.#schedule(this.#intervalMs)
  }

  /** True between a reported silence and the next answer. */
  get suspect(): boolean {
    return this.#suspectSince !== 0
  }

  /** Stops probing; nothing is reported afterwards. */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#next)
    this.#next = undefined
  }

  #schedule(ms: number): void {
    if (this.#stopped || this.#next !== undefined) return
    this.#next = setTimeout(() => {
      this.#next = undefined
      this.#send()
    }, ms)
    // A probe must never keep a process alive by itself.
    this.#next.unref()
  }

  #send(): void {
    if (this.#stopped) return
    const sentAt = performance.now()
    // A round trip that throws synchronously is no answer either.
    new Promise((resolve) => resolve(this.#options.roundTrip())).then(
      () => this.#answered(),
      () => {}, // no answer: the deadline decides
    )
    const deadline = setTimeout(() => setImmediate(() => this.#judge(sentAt)), this.#intervalMs)
    deadline.unref()
  }

  #answered(): void {
    if (this.#stopped) return
    this.#lastAnswerAt = performance.now()
    if (this.#suspectSince !== 0) {
      const silentMs = Math.round(this.#lastAnswerAt - this.#suspectSince)
      this.#suspectSince = 0
      this.#options.onLive(`the server answered again after ${silentMs} ms of reported silence`)
    }
    this.#schedule(this.#intervalMs)
  }

  #judge(sentAt: number): void {
    if (this.#stopped || this.#lastAnswerAt >= sentAt) return
    if (this.#suspectSince === 0) {
      this.#suspectSince = performance.now()
      const waited = Math.round(this.#suspectSince - sentAt)
      this.#options.onSuspect(
        `no answer to a liveness round trip in ${waited} ms (maxSilenceMs ${this.#options.maxSilenceMs})`,
      )
    }
    // Keep asking while silent: an answer to any later request ends the silence.
    this.#schedule(this.#intervalMs)
  }
}
