/** How long we wait for the `del` notification of our own delete before forgetting it. */
const GRACE_MS = 10_000

/**
 * Deletes this handle made itself, so their `del` keyspace notifications are not
 * reported as `external` evictions. The notification travels on another
 * connection and may arrive before or after the UNLINK reply, so a delete is
 * registered before the command is sent; entries (and finished clears) are
 * forgotten after a grace period, in case the notification never comes (the
 * subscriber was reconnecting). Should one slip through anyway, core only evicts a
 * key from the local layers that it just removed itself: harmless.
 */
export class OwnDeletes {
  readonly #keys = new Map<string, number>()
  readonly #clears = new Set<{ readonly prefix: string; until: number }>()

  /** Registers a delete of `key` about to be sent. */
  expect(key: string): void {
    const now = Date.now()
    if (this.#keys.size > 1000) for (const [k, until] of this.#keys) if (until < now) this.#keys.delete(k)
    this.#keys.set(key, now + GRACE_MS)
  }

  /** The delete of `key` removed nothing: no notification will come. */
  forget(key: string): void {
    this.#keys.delete(key)
  }

  /** Registers a clear of every key under `prefix`; call the result when it finished. */
  startClear(prefix: string): () => void {
    const entry = { prefix, until: Number.POSITIVE_INFINITY }
    this.#clears.add(entry)
    return () => {
      entry.until = Date.now() + GRACE_MS
    }
  }

  /** True (and consumed) when a `del` of `key` was ours. */
  claim(key: string): boolean {
    const now = Date.now()
    const until = this.#keys.get(key)
    if (until !== undefined) {
      this.#keys.delete(key)
      if (until >= now) return true
    }
    for (const clear of this.#clears) {
      if (clear.until < now) this.#clears.delete(clear)
      else if (key.startsWith(clear.prefix)) return true
    }
    return false
  }
}
