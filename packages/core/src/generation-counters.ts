/**
 * Generation counters: how a handle whose store cannot delete by prefix (Memcached, Keyv,
 * most key-value stores) clears a cache or a region in one write.
 *
 * Every item key carries the generation of its cache and, in a region, the region's. A
 * clear starts a new generation in the store; keys built with the old one are never read
 * again and age out. This class keeps local copies of the generations, because reading them
 * on every operation would double the store's traffic. Other instances learn of a clear
 * from the backplane (`refresh`) or, without one, by re-reading every generation at most
 * `refreshMs` after they last read it.
 *
 * A read that finds a generation changed when no `refresh` announced it has found a clear
 * this instance never heard of (no backplane, a lost message): it is reported through
 * `onUnannounced`, because copies of that scope in the layers above are now stale too and
 * only core can drop them (see `CacheHandle.onExternalClear` and {@link ExternalClearSweep},
 * which calls `sweep` so the report comes even while the layers above answer every read).
 *
 * Generations are whatever the store keeps: counters that only grow (an atomic increment,
 * Memcached) or random tokens (a store without increment, Keyv). Give `newer` for values
 * that are ordered, so a late answer never replaces a newer value; without it two values
 * are only ever equal or not, and a clear reads its token back instead of trusting itself.
 */

/** How generations are read and started in the store. */
export interface GenerationStore<T> {
  /** The generation stored under `key` now (the store's initial one when there is none). */
  read(key: string): Promise<T>
  /**
   * Starts a new generation under `key` (a clear). Resolves with the generation the store
   * holds after it when the store answers that atomically (an increment), else undefined:
   * the counters then read it back.
   */
  bump(key: string): Promise<T | undefined>
}

/** Options of {@link GenerationCounters}. */
export interface GenerationCountersOptions<T> {
  readonly store: GenerationStore<T>
  /** Store key of the cache's generation. */
  readonly cacheKey: string
  /** Store key of one region's generation. */
  readonly regionKey: (region: string) => string
  /** A generation read longer ago than this is read again before use, ms. */
  readonly refreshMs: number
  /** For generations that only grow: true when `candidate` is later than `held`. Default: any other value is. */
  readonly newer?: (candidate: T, held: T) => boolean
  /** Called with the scope (undefined: the whole cache) of a clear a read found without an announcement. */
  readonly onUnannounced?: (region: string | undefined) => void
}

/** Builds an item key from the generations of its cache and region. */
export type GenerationKeyBuilder<T> = (
  cacheGeneration: T,
  regionGeneration: T | undefined,
  region: string | undefined,
  key: string,
) => string

interface Entry<T> {
  /** The region whose generation this is; undefined for the cache's. */
  readonly region: string | undefined
  /** The generation's store key. */
  readonly key: string
  value: T | undefined
  /** When the value was last read, ms; 0 while it never was. */
  readAt: number
  stale: boolean
  /** A clear of this scope was announced (`refresh`, or our own): the next read's change is not news. */
  heard: boolean
  pending: Promise<T> | undefined
}

/** Most region generations kept locally; the oldest read is dropped first. */
const maxRegionEntries = 10_000

/** Generations re-read at once by a {@link GenerationCounters.sweep}. */
const sweepSlice = 64

const differs = <T>(candidate: T, held: T): boolean => candidate !== held

/** The generations of one cache and its regions, cached locally; see the module comment. */
export class GenerationCounters<T> {
  readonly #store: GenerationStore<T>
  readonly #regionKey: (region: string) => string
  readonly #refreshMs: number
  readonly #newer: (candidate: T, held: T) => boolean
  /** Generations only grow (`newer` was given): a bump's own answer can be trusted. */
  readonly #ordered: boolean
  readonly #onUnannounced: (region: string | undefined) => void
  readonly #cacheEntry: Entry<T>
  readonly #regions = new Map<string, Entry<T>>()

  constructor(options: GenerationCountersOptions<T>) {
    this.#store = options.store
    this.#regionKey = options.regionKey
    this.#refreshMs = options.refreshMs
    this.#newer = options.newer ?? differs
    this.#ordered = options.newer !== undefined
    this.#onUnannounced = options.onUnannounced ?? (() => {})
    this.#cacheEntry = emptyEntry(undefined, options.cacheKey)
  }

  /** The cache generation: at once while fresh, else read from the store. */
  cache(): T | Promise<T> {
    return this.#current(this.#cacheEntry)
  }

  /** A region's generation: at once while fresh, else read from the store. */
  region(region: string): T | Promise<T> {
    return this.#current(this.#regionEntry(region))
  }

  /**
   * The store key `build` makes from the generations `key` needs: a string at once while
   * they are fresh (nearly every call), a promise only when one must be read first.
   * Awaiting even a plain value costs every operation an extra microtask turn, so callers
   * await only promises.
   */
  itemKey(key: string, region: string | undefined, build: GenerationKeyBuilder<T>): string | Promise<string> {
    const cacheAt = this.cache()
    if (region === undefined) {
      return cacheAt instanceof Promise
        ? cacheAt.then((at) => build(at, undefined, undefined, key))
        : build(cacheAt, undefined, undefined, key)
    }
    const regionAt = this.region(region)
    if (!(cacheAt instanceof Promise) && !(regionAt instanceof Promise)) {
      return build(cacheAt, regionAt, region, key)
    }
    return Promise.all([cacheAt, regionAt]).then(([c, r]) => build(c, r, region, key))
  }

  /** Clears the cache: starts a new cache generation in the store and keeps it. */
  async bumpCache(): Promise<void> {
    await this.#bump(this.#cacheEntry)
  }

  /** Clears a region: starts a new region generation in the store and keeps it. */
  async bumpRegion(region: string): Promise<void> {
    await this.#bump(this.#regionEntry(region))
  }

  /**
   * Another instance cleared one region: re-read its generation now. `region` undefined
   * means the whole cache was cleared or anything may have been (a backplane gap): every
   * generation is re-read, the cache's now and the regions' on their next use, since a
   * clear missed during a gap may have been of any region.
   */
  async refresh(region: string | undefined): Promise<void> {
    if (region === undefined) {
      for (const entry of this.#regions.values()) markHeard(entry)
    }
    const entry = region === undefined ? this.#cacheEntry : this.#regions.get(region)
    // Never read nor being read: the first use reads it anyway.
    if (entry === undefined || (entry.readAt === 0 && entry.pending === undefined)) return
    markHeard(entry)
    await this.#read(entry)
  }

  /**
   * Re-reads every known generation (an {@link ExternalClearSweep} calls it every
   * `refreshMs`), so an unannounced clear is found even when nothing asks for them. A failed
   * read leaves its generation stale: the next operation that needs it reads it again and
   * reports that failure.
   */
  async sweep(): Promise<void> {
    const entries = [...this.#regions.values(), this.#cacheEntry].filter((entry) => entry.readAt !== 0)
    // In slices: thousands of regions must not put thousands of requests in flight at once.
    for (let i = 0; i < entries.length; i += sweepSlice) {
      const slice = entries.slice(i, i + sweepSlice)
      await Promise.all(slice.map((entry) => this.#read(entry).catch(() => undefined)))
    }
  }

  #current(entry: Entry<T>): T | Promise<T> {
    return this.#fresh(entry) ? (entry.value as T) : this.#read(entry)
  }

  async #bump(entry: Entry<T>): Promise<void> {
    const value = await this.#store.bump(entry.key)
    if (value !== undefined && this.#ordered) {
      // An ordered answer from the store itself: no read can have seen a later one.
      this.#accept(entry, value, false)
      return
    }
    // Reads that started before the bump could keep the old generation: they must not win.
    markHeard(entry)
    await this.#read(entry)
  }

  #regionEntry(region: string): Entry<T> {
    let entry = this.#regions.get(region)
    if (entry !== undefined) return entry
    if (this.#regions.size >= maxRegionEntries) {
      // Forgetting a generation only costs a re-read on the region's next use.
      const oldest = this.#regions.keys().next()
      if (!oldest.done) this.#regions.delete(oldest.value)
    }
    entry = emptyEntry(region, this.#regionKey(region))
    this.#regions.set(region, entry)
    return entry
  }

  #fresh(entry: Entry<T>): boolean {
    // A read in flight may be a refresh after a clear: callers join it rather than use the
    // value it is replacing (`#read` clears `stale` as soon as it starts).
    return (
      !entry.stale &&
      entry.pending === undefined &&
      entry.readAt !== 0 &&
      Date.now() - entry.readAt < this.#refreshMs
    )
  }

  #read(entry: Entry<T>): Promise<T> {
    if (entry.pending !== undefined) {
      if (!entry.stale) return entry.pending
      // Marked stale after this read started: it may have been answered before the clear.
      return entry.pending.catch(() => undefined).then(() => this.#read(entry))
    }
    // A refresh requested while this read is in flight must not be satisfied by it.
    entry.stale = false
    const heard = entry.heard
    entry.heard = false
    const pending = this.#store.read(entry.key).then(
      (value) => {
        entry.pending = undefined
        return this.#accept(entry, value, !heard)
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

  /** Keeps `value` unless the one held is newer; a read (`report`) that finds a change reports it. */
  #accept(entry: Entry<T>, value: T, report: boolean): T {
    const known = entry.readAt !== 0
    if (!known || this.#newer(value, entry.value as T)) {
      entry.value = value
      if (known && report) this.#onUnannounced(entry.region)
    }
    entry.readAt = Date.now()
    return entry.value as T
  }
}

function emptyEntry<T>(region: string | undefined, key: string): Entry<T> {
  return { region, key, value: undefined, readAt: 0, stale: false, heard: false, pending: undefined }
}

/** A clear of the entry's scope was announced: re-read it, and do not report what that read finds. */
function markHeard<T>(entry: Entry<T>): void {
  entry.stale = true
  entry.heard = true
}
