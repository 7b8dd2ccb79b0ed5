/**
 * Local copies of the generation counters that scope item keys (see key-layout.ts).
 *
 * A clear increments a counter in Memcached; keys built with the old value are never
 * read again and age out. Other instances learn the new value from the backplane
 * (`invalidate` + the next read) or, without one, by re-reading every counter at most
 * `refreshMs` after they last read it. Counters only ever grow, so a late answer never
 * replaces a newer value (the larger one wins).
 *
 * A counter is created on first read with the current time in ms as its value, not 0:
 * if Memcached evicts it (it is a normal item) or a server restarts, the new counter
 * starts above every value handed out before, so old items never come back.
 */

/** How counters are read and bumped in the store. */
export interface CounterStore {
  /** Adds `delta` (0 reads) and returns the new value; creates the counter at `initial` when absent. */
  increment(key: string, delta: number, initial: number): Promise<number>
}

interface Entry {
  value: number
  readAt: number
  stale: boolean
  pending: Promise<number> | undefined
}

/** Most region counters kept locally; the oldest read is dropped first. */
const maxRegionEntries = 10_000

/** Generation counters of one cache, cached locally. */
export class Generations {
  private cacheEntry: Entry | undefined
  private readonly regions = new Map<string, Entry>()

  constructor(
    private readonly store: CounterStore,
    private readonly cacheKey: string,
    private readonly regionKey: (region: string) => string,
    private readonly refreshMs: number,
  ) {}

  /** The cache generation (read from the store when missing or due for a refresh). */
  cache(): Promise<number> | number {
    const entry = this.cacheEntry
    if (entry !== undefined && this.fresh(entry)) return entry.value
    this.cacheEntry ??= emptyEntry()
    return this.read(this.cacheEntry, this.cacheKey)
  }

  /** A region's generation (read from the store when missing or due for a refresh). */
  region(region: string): Promise<number> | number {
    const entry = this.regionEntry(region)
    if (this.fresh(entry)) return entry.value
    return this.read(entry, this.regionKey(region))
  }

  /** Bumps the cache generation in the store (a clear) and keeps the new value. */
  async bumpCache(): Promise<void> {
    this.cacheEntry ??= emptyEntry()
    this.accept(this.cacheEntry, await this.store.increment(this.cacheKey, 1, Date.now()))
  }

  /** Bumps a region's generation in the store (a region clear) and keeps the new value. */
  async bumpRegion(region: string): Promise<void> {
    const entry = this.regionEntry(region)
    this.accept(entry, await this.store.increment(this.regionKey(region), 1, Date.now()))
  }

  /** Another instance cleared the cache (`region` undefined) or a region: re-read the counter now. */
  async refresh(region: string | undefined): Promise<void> {
    const entry = region === undefined ? this.cacheEntry : this.regions.get(region)
    // Never read: the first use reads it anyway.
    if (entry === undefined) return
    entry.stale = true
    // A read already in flight may have been answered before the clear: wait it out, then read again.
    await entry.pending?.catch(() => undefined)
    if (entry.stale) await this.read(entry, region === undefined ? this.cacheKey : this.regionKey(region))
  }

  private regionEntry(region: string): Entry {
    let entry = this.regions.get(region)
    if (entry !== undefined) return entry
    if (this.regions.size >= maxRegionEntries) {
      // Forgetting a counter only costs a re-read on the region's next use.
      const oldest = this.regions.keys().next()
      if (!oldest.done) this.regions.delete(oldest.value)
    }
    entry = emptyEntry()
    this.regions.set(region, entry)
    return entry
  }

  private fresh(entry: Entry): boolean {
    // A read in flight may be a refresh after a remote clear: callers join it rather than use
    // the value it is replacing (`read` clears `stale` as soon as it starts).
    return (
      !entry.stale &&
      entry.pending === undefined &&
      entry.readAt !== 0 &&
      Date.now() - entry.readAt < this.refreshMs
    )
  }

  private read(entry: Entry, key: string): Promise<number> {
    if (entry.pending !== undefined) return entry.pending
    // A refresh requested while this read is in flight must not be satisfied by it.
    entry.stale = false
    const pending = this.store.increment(key, 0, Date.now()).then(
      (value) => {
        entry.pending = undefined
        return this.accept(entry, value)
      },
      (error: unknown) => {
        entry.pending = undefined
        entry.stale = true
        throw error
      },
    )
    entry.pending = pending
    return pending
  }

  private accept(entry: Entry, value: number): number {
    entry.value = Math.max(entry.value, value)
    entry.readAt = Date.now()
    return entry.value
  }
}

function emptyEntry(): Entry {
  return { value: 0, readAt: 0, stale: false, pending: undefined }
}
