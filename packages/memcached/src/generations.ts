/**
 * Local copies of the generation counters that scope item keys (see key-layout.ts).
 *
 * A clear increments a counter in Memcached; keys built with the old value are never
 * read again and age out. Other instances learn the new value from the backplane
 * (`refresh` + the next read) or, without one, by re-reading every counter at most
 * `refreshMs` after they last read it. Counters only ever grow, so a late answer never
 * replaces a newer value (the larger one wins).
 *
 * A read that finds a counter grown when no `refresh` announced it has found a clear this
 * instance never heard of (no backplane, a lost message): it is reported through
 * `onUnannounced`, because copies of that scope in the layers above are now stale too and
 * only core can drop them. `sweep` re-reads every known counter, so the report comes within
 * about `refreshMs` even while the layers above answer every read.
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
  /** The region whose counter this is; undefined for the cache counter. */
  readonly region: string | undefined
  /** The counter's Memcached key. */
  readonly key: string
  value: number
  readAt: number
  stale: boolean
  /** A clear of this scope was announced (`refresh`): the next read's change is not news. */
  heard: boolean
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
    /** Called with the scope (undefined: the whole cache) of a clear found by a read, not announced. */
    private readonly onUnannounced: (region: string | undefined) => void = () => {},
  ) {}

  /** The cache generation (read from the store when missing or due for a refresh). */
  cache(): Promise<number> | number {
    const entry = this.cacheEntry
    if (entry !== undefined && this.fresh(entry)) return entry.value
    this.cacheEntry ??= emptyEntry(undefined, this.cacheKey)
    return this.read(this.cacheEntry)
  }

  /** A region's generation (read from the store when missing or due for a refresh). */
  region(region: string): Promise<number> | number {
    const entry = this.regionEntry(region)
    if (this.fresh(entry)) return entry.value
    return this.read(entry)
  }

  /** Bumps the cache generation in the store (a clear) and keeps the new value. */
  async bumpCache(): Promise<void> {
    this.cacheEntry ??= emptyEntry(undefined, this.cacheKey)
    this.accept(this.cacheEntry, await this.store.increment(this.cacheKey, 1, Date.now()), false)
  }

  /** Bumps a region's generation in the store (a region clear) and keeps the new value. */
  async bumpRegion(region: string): Promise<void> {
    const entry = this.regionEntry(region)
    this.accept(entry, await this.store.increment(entry.key, 1, Date.now()), false)
  }

  /**
   * Another instance cleared one region: re-read its counter now. `region` undefined means
   * the whole cache was cleared or anything may have been (a backplane gap): every counter
   * is re-read, the cache counter now and region counters on their next use, since a clear
   * missed during a gap may have been of any region.
   */
  async refresh(region: string | undefined): Promise<void> {
    if (region === undefined) {
      for (const entry of this.regions.values()) markHeard(entry)
    }
    const entry = region === undefined ? this.cacheEntry : this.regions.get(region)
    // Never read: the first use reads it anyway.
    if (entry === undefined) return
    markHeard(entry)
    await this.read(entry)
  }

  /**
   * Re-reads every known counter (a timer calls it every `refreshMs`), so an unannounced
   * clear is found even when nothing asks for the counters. A failed read leaves its counter
   * stale: the next operation that needs it reads it again and reports that failure.
   */
  async sweep(): Promise<void> {
    const entries = [...this.regions.values()]
    if (this.cacheEntry !== undefined) entries.push(this.cacheEntry)
    // In slices: thousands of regions must not put thousands of requests in flight at once.
    for (let i = 0; i < entries.length; i += sweepSlice) {
      const slice = entries.slice(i, i + sweepSlice).filter((entry) => entry.readAt !== 0)
      await Promise.all(slice.map((entry) => this.read(entry).catch(() => undefined)))
    }
  }

  private regionEntry(region: string): Entry {
    let entry = this.regions.get(region)
    if (entry !== undefined) return entry
    if (this.regions.size >= maxRegionEntries) {
      // Forgetting a counter only costs a re-read on the region's next use.
      const oldest = this.regions.keys().next()
      if (!oldest.done) this.regions.delete(oldest.value)
    }
    entry = emptyEntry(region, this.regionKey(region))
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

  private read(entry: Entry): Promise<number> {
    if (entry.pending !== undefined) {
      if (!entry.stale) return entry.pending
      // Marked stale after this read started: it may have been answered before the clear.
      return entry.pending.catch(() => undefined).then(() => this.read(entry))
    }
    // A refresh requested while this read is in flight must not be satisfied by it.
    entry.stale = false
    const heard = entry.heard
    entry.heard = false
    const pending = this.store.increment(entry.key, 0, Date.now()).then(
      (value) => {
        entry.pending = undefined
        return this.accept(entry, value, !heard)
      },
      (error: unknown) => {
        entry.pending = undefined
        entry.stale = true
        entry.heard ||= heard
        throw error
      },
    )
    entry.pending = pending
    return pending
  }

  /** Keeps `value` (the larger wins); a read (`report`) that finds the counter grown reports it. */
  private accept(entry: Entry, value: number, report: boolean): number {
    const grown = entry.readAt !== 0 && value > entry.value
    entry.value = Math.max(entry.value, value)
    entry.readAt = Date.now()
    if (grown && report) this.onUnannounced(entry.region)
    return entry.value
  }
}

/** Counters re-read at once by a {@link Generations.sweep}. */
const sweepSlice = 64

function emptyEntry(region: string | undefined, key: string): Entry {
  return { region, key, value: 0, readAt: 0, stale: false, heard: false, pending: undefined }
}

/** A clear of the entry's scope was announced: re-read it, and do not report what that read finds. */
function markHeard(entry: Entry): void {
  entry.stale = true
  entry.heard = true
}
