/**
 * Runs the writes of one store key one after another within this process. A Keyv store has
 * no conditional write, so `add` and `expire` read and then write; without this, a `set` or
 * `remove` of the same key by this process could land between the two and be undone. Other
 * processes can still interleave (documented on keyvHandle); this closes the local window.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<unknown>>()

  /** Runs `work` once every earlier call for `key` has settled; resolves with its result. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key)
    const result = previous === undefined ? work() : previous.then(work, work)
    const tail = result.catch(() => undefined)
    this.tails.set(key, tail)
    // The last call for a key removes its entry, so the map only holds keys being written.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }
}
