/** Prints the demo's timeline: one line per step, times relative to the start. */
import { type Heard, now } from './instance.js'

/** Collects what instances heard and prints steps as they happen. */
export class Timeline {
  #start = now()
  readonly #heard: Heard[] = []
  readonly #propagation: number[] = []
  readonly #out: (line: string) => void

  constructor(out: (line: string) => void = console.log) {
    this.#out = out
  }

  /** Starts the clock: times are printed relative to this moment. */
  begin(): void {
    this.#start = now()
  }

  /** Records a remote change an instance heard. */
  heard(heard: Heard): void {
    this.#heard.push(heard)
  }

  /** Prints one step done by `instance`. */
  step(instance: string, what: string, at = now()): void {
    this.#out(`${this.#time(at)}  ${instance.padEnd(2)} ${what}`)
  }

  /** Prints a heading between acts. */
  act(title: string): void {
    this.#out(`\n  ${title}`)
  }

  /**
   * Waits until every instance in `expected` heard the change written at `writtenAt`
   * (deadline `timeoutMs`), then prints who was invalidated and how long it took.
   */
  async invalidated(
    expected: readonly string[],
    event: string,
    writtenAt: number,
    timeoutMs = 5_000,
  ): Promise<void> {
    const deadline = now() + timeoutMs
    const seen = (name: string) =>
      this.#heard.find((h) => h.instance === name && h.event === event && h.at >= writtenAt)
    while (expected.some((name) => seen(name) === undefined)) {
      if (now() > deadline) {
        const missing = expected.filter((name) => seen(name) === undefined).join(', ')
        throw new Error(`instances ${missing} did not hear the ${event} within ${timeoutMs} ms`)
      }
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    for (const name of expected) {
      const heard = seen(name)!
      const took = heard.at - writtenAt
      this.#propagation.push(took)
      const what = heard.key === undefined ? `region '${heard.region}'` : `'${heard.key}'`
      this.step(name, `invalidated ${what} (remote ${event}) after ${took.toFixed(2)} ms`, heard.at)
    }
  }

  /** Prints the propagation summary. */
  summary(): void {
    const sorted = [...this.#propagation].sort((a, b) => a - b)
    if (sorted.length === 0) return
    const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2)
    this.#out(
      `\n  ${sorted.length} invalidations delivered, propagation p50 ${pick(0.5)} ms, max ${pick(1)} ms; no instance served a replaced value.`,
    )
  }

  #time(at: number): string {
    return `${(at - this.#start).toFixed(2).padStart(9)} ms`
  }
}
