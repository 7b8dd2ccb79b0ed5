/**
 * One in-flight computation per key: concurrent callers for the same key share the
 * first caller's promise, so a factory runs once per key per process however many
 * callers wait. The entry is dropped when the promise settles (no unbounded growth).
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>()

  /** Runs `work` unless a run for `id` is in flight, in which case its promise is shared. */
  run(id: string, work: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(id)
    if (running !== undefined) return running
    const promise = work().finally(() => {
      this.#inFlight.delete(id)
    })
    this.#inFlight.set(id, promise)
    return promise
  }

  /** Number of keys with a run in flight (tests and stats). */
  get size(): number {
    return this.#inFlight.size
  }
}

/** An unambiguous string id for a key in a region (a region can contain any character). */
export function keyId(key: string, region: string | undefined): string {
  return region === undefined ? `:${key}` : `${region.length}:${region}:${key}`
}
