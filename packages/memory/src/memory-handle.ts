/**
 * The in-process handle: a cache bounded by entries (and optionally bytes) that evicts the
 * least recently used items, with absolute and sliding TTL, eviction events and
 * version-based CAS, all synchronous.
 *
 * A memory hit through `CacheManager` is the product's hot path, which shapes the code:
 * the entry object is the `StoredItem` returned (no allocation on a hit), items without
 * expiry never read the clock, and regions are tables of their own so no call builds a
 * composite key string. Bytes per entry shape the entry: see `MemoryEntry`.
 *
 * Recency is kept the way CLOCK keeps it, which costs an entry no field: a mark of 0 to 2
 * (held by which of its expiration's three shapes the entry points to, see `EntryShape`).
 * A write marks an entry once, a read twice; a hit on a marked entry writes nothing. An
 * eviction hand walks the tables in their maps' order: a marked entry loses one mark and
 * stays, an unmarked one is evicted. So an item read since the hand last passed survives two
 * passes, a written one unread survives one, and one the hand already passed over unread
 * goes next: least recently used first, to within a pass of the hand.
 */
import type {
  BulkEntry,
  CacheHandle,
  EvictListener,
  EvictReason,
  ExpirationMode,
  HandleCapabilities,
  ItemInput,
  StoredItem,
  UpdateOutcome,
} from '@cacheplane/core'
import { hitClockSince, InvalidOptionsError, ValueTooLargeError } from '@cacheplane/core'
import { DERIVED_TTL, KeyTable } from './entry-shape.js'
import { addMs, MemoryEntry } from './memory-entry.js'
import { MemoryLock } from './memory-lock.js'
import {
  type MemoryHandleOptions,
  type ResolvedMemoryOptions,
  resolveMemoryOptions,
} from './memory-options.js'

/**
 * How far the clock may run past the time base before entry times are counted from a new one
 * (about 12.4 days). Offsets stay small integers up to 2^31 ms, so a TTL of up to as long
 * again keeps its expiry unboxed too.
 */
const REBASE_AFTER_MS = 2 ** 30

/**
 * Marked entries the hand spares in one eviction before it evicts the next entry, marked or
 * not: an eviction costs at most this many steps, also when every item was read lately.
 */
const MAX_SPARED = 64

/** The handle {@link memoryHandle} returns: the full contract plus a few memory-only helpers. */
export interface MemoryCacheHandle<V = unknown> extends CacheHandle<V> {
  // Everything is synchronous: the narrower return types let callers skip `await`.
  /** Reads an item (no allocation: the stored entry itself); a sliding item is extended. */
  get(key: string, region: string | undefined): StoredItem<V> | undefined
  /** Writes only if the key is absent or expired. True when written. */
  add(key: string, region: string | undefined, item: ItemInput<V>): boolean
  /** Writes unconditionally; returns the version stored. */
  set(key: string, region: string | undefined, item: ItemInput<V>): number
  /** Compare-and-set on the version. */
  update(key: string, region: string | undefined, expectedVersion: number, item: ItemInput<V>): UpdateOutcome
  /** Removes an item. True when a live item was removed. */
  remove(key: string, region: string | undefined): boolean
  /** Changes an existing item's expiration. True when the item exists. */
  expire(
    key: string,
    region: string | undefined,
    mode: ExpirationMode,
    ttl: number,
    expiresAt: number,
  ): boolean
  /** Removes every item. */
  clear(): void
  /** Removes every item of one region. */
  clearRegion(region: string): void
  /** Stops the sweep timer and removes every item; a closed handle may be bound to a cache again. */
  close(): void
  /** Extends a sliding item's lifetime without reading it. True when the item exists. */
  touch(key: string, region: string | undefined): boolean
  /** Reads an item without changing anything: no sliding extension, not marked as read, an expired item is left to the sweep. */
  peek(key: string, region: string | undefined): StoredItem<V> | undefined
  /** Reads several keys of one region, results in the order of `keys`. */
  getMany(keys: readonly string[], region: string | undefined): Array<StoredItem<V> | undefined>
  /** Writes several items of one region (each as `set`); the versions stored, in order. */
  setMany(entries: ReadonlyArray<BulkEntry<V>>, region: string | undefined): number[]
  /** Removes several keys of one region; how many live items were removed. */
  removeMany(keys: readonly string[], region: string | undefined): number
  /** Registers a listener for `expired` and `evicted` items; returns an unsubscribe function. */
  onEvict(listener: EvictListener): () => void
  /** Binds the handle to one cache name (a local handle belongs to one manager). */
  bind(cacheName: string): void
  /** Number of items held (expired items not swept yet included). */
  readonly size: number
  /** Bytes counted against `maxBytes` (0 without a byte bound). */
  readonly bytes: number
  /** Removes expired items now, emitting `expired`; returns how many. The timer calls it too. */
  sweep(): number
}

/** Creates an in-process cache handle. See {@link MemoryHandleOptions}. */
export function memoryHandle<V = unknown>(options?: MemoryHandleOptions<V>): MemoryCacheHandle<V> {
  return new MemoryHandle<V>(resolveMemoryOptions(options)) satisfies CacheHandle<V>
}

class MemoryHandle<V> implements MemoryCacheHandle<V> {
  readonly name: string
  readonly capabilities: HandleCapabilities
  /** getOrAdd's cluster lock, when the handle plays a shared store (`distributed: true`). */
  readonly lock: MemoryLock | undefined
  // Epoch ms that the times of entries written now count from (see `rebase`).
  private base = Date.now()
  // Items without a region live in `root`; each region gets its own table, created on
  // first write and dropped when it empties (regions never accumulate).
  private readonly root = new KeyTable<V>(undefined, this.base)
  private readonly regions = new Map<string, KeyTable<V>>()
  // The eviction hand: where it is in the table it walks (undefined: at the start of `root`),
  // and, while it walks the regions, where it is among them. Kept only while the cache is
  // near a bound (see `store`): a map iterator keeps alive the storage its map had when it
  // last moved, items removed since included, until it moves again.
  private hand: MapIterator<[string, MemoryEntry<V>]> | undefined
  private handRegions: MapIterator<KeyTable<V>> | undefined
  private count = 0
  private totalBytes = 0
  private readonly maxEntries: number
  private readonly maxBytes: number
  private readonly sizeOf: ((value: V) => number) | undefined
  // Sizes live beside the entries, and only with a byte bound: entries stay small without one.
  private readonly sizes: Map<MemoryEntry<V>, number> | undefined
  private listeners: EvictListener[] = []
  private timer: ReturnType<typeof setInterval> | undefined
  private boundTo: string | undefined
  // The last version assigned. One counter for every key, never reset (not by remove,
  // clear or close): a key removed and written again never gets a version it had, so a
  // compare-and-set prepared against the old item cannot match the new one.
  private lastVersion = 0

  constructor(options: ResolvedMemoryOptions<V>) {
    this.name = options.name
    this.maxEntries = options.maxEntries
    this.maxBytes = options.maxBytes
    this.sizeOf = options.sizeOf
    this.sizes = options.sizeOf === undefined ? undefined : new Map()
    this.capabilities = Object.freeze({
      distributed: options.distributed,
      bytes: options.distributed,
      cas: true,
      sliding: true,
      maxTtlMs: Number.POSITIVE_INFINITY,
      ttlGranularityMs: 1,
      clearRegion: 'native',
      synchronous: true,
      grace: true,
    })
    this.lock = options.distributed ? new MemoryLock() : undefined
    if (options.sweepIntervalMs > 0) {
      // unref: a cache must never keep the process alive.
      this.timer = setInterval(() => this.sweep(), options.sweepIntervalMs)
      this.timer.unref()
    }
  }

  get size(): number {
    return this.count
  }

  get bytes(): number {
    return this.totalBytes
  }

  get(key: string, region: string | undefined): MemoryEntry<V> | undefined {
    const entry = region === undefined ? this.root.items.get(key) : this.regions.get(region)?.items.get(key)
    if (entry === undefined) return undefined
    // null = never expires: no clock read at all for such items.
    const shape = entry.shape
    const expiry = entry.expiry
    if (expiry !== null) {
      const now = hitClockSince(shape)
      if (now >= expiry) {
        // In its grace window the entry is returned as it is (core decides whether it is
        // served); only the end of the grace drops it. Entries without grace pay nothing here.
        if (now >= expiry + shape.grace) {
          this.drop(key, entry)
          this.emit(key, entry, 'expired')
          return undefined
        }
      } else if (shape.mode === 'sliding') entry.expiry = addMs(now, shape.ttl)
    }
    // Marked as read (a hit on an entry marked so writes nothing).
    if (shape.hot !== shape) entry.shape = shape.hot
    return entry
  }

  peek(key: string, region: string | undefined): MemoryEntry<V> | undefined {
    const entry = this.find(key, region)
    // As in `get`: an entry that never expires reads no clock.
    if (entry === undefined || entry.expiry === null) return entry
    return pastGrace(entry, hitClockSince(entry.shape)) ? undefined : entry
  }

  getMany(keys: readonly string[], region: string | undefined): Array<MemoryEntry<V> | undefined> {
    const items = new Array<MemoryEntry<V> | undefined>(keys.length)
    for (let i = 0; i < keys.length; i++) items[i] = this.get(keys[i] as string, region)
    return items
  }

  setMany(entries: ReadonlyArray<BulkEntry<V>>, region: string | undefined): number[] {
    const versions = new Array<number>(entries.length)
    for (let i = 0; i < entries.length; i++) {
      const { key, item } = entries[i]!
      versions[i] = this.set(key, region, item)
    }
    return versions
  }

  removeMany(keys: readonly string[], region: string | undefined): number {
    let removed = 0
    for (const key of keys) if (this.remove(key, region)) removed++
    return removed
  }

  add(key: string, region: string | undefined, item: ItemInput<V>): boolean {
    if (this.live(key, region) !== undefined) return false
    this.store(key, region, item, item.version ?? ++this.lastVersion)
    return true
  }

  set(key: string, region: string | undefined, item: ItemInput<V>): number {
    const version = item.version ?? ++this.lastVersion
    this.store(key, region, item, version)
    return version
  }

  update(
    key: string,
    region: string | undefined,
    expectedVersion: number,
    item: ItemInput<V>,
  ): UpdateOutcome {
    const current = this.live(key, region)
    if (current === undefined) return { status: 'missing' }
    if (current.version !== expectedVersion) return { status: 'conflict' }
    const version = item.version ?? ++this.lastVersion
    this.store(key, region, item, version)
    return { status: 'ok', version }
  }

  remove(key: string, region: string | undefined): boolean {
    const entry = this.find(key, region)
    if (entry === undefined) return false
    this.drop(key, entry)
    if (isExpired(entry, Date.now())) {
      this.emit(key, entry, 'expired')
      return false
    }
    return true
  }

  expire(
    key: string,
    region: string | undefined,
    mode: ExpirationMode,
    ttl: number,
    expiresAt: number,
  ): boolean {
    const entry = this.live(key, region)
    // An entry past its expiry, kept for its grace, is absent: re-timing it would revive it.
    if (entry === undefined || (entry.expiry !== null && Date.now() - entry.shape.base >= entry.expiry))
      return false
    // A write for versions: a new entry with a new version (a reader's entry is never changed).
    // It keeps its grace: core logically expires a graced copy with expire (remote changes).
    const { value, created, grace } = entry
    this.store(key, region, { value, mode, ttl, expiresAt, created, grace }, ++this.lastVersion)
    return true
  }

  touch(key: string, region: string | undefined): boolean {
    const entry = this.live(key, region)
    if (entry === undefined) return false
    if (entry.shape.mode === 'sliding') entry.expiry = addMs(Date.now() - entry.shape.base, entry.shape.ttl)
    return true
  }

  clear(): void {
    this.root.items.clear()
    this.regions.clear()
    this.sizes?.clear()
    this.count = 0
    this.totalBytes = 0
    // The hand may be in a region's table, which still lists its items: let go of them.
    this.releaseHand()
  }

  clearRegion(region: string): void {
    const table = this.regions.get(region)
    if (table === undefined) return
    this.count -= table.items.size
    if (this.sizes !== undefined) for (const entry of table.items.values()) this.forgetSize(entry)
    this.regions.delete(region)
    // Emptied, so that nothing holding the table finds an item to evict, and the hand let go
    // of (it may be in there, keeping the region's items alive).
    table.items.clear()
    this.releaseHand()
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.clear()
    this.listeners = []
    // Closed, it holds nothing of its cache: a new manager may bind it (core's rule).
    this.boundTo = undefined
  }

  onEvict(listener: EvictListener): () => void {
    // Copy on write: emit iterates a stable array even if a listener unsubscribes.
    this.listeners = [...this.listeners, listener]
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener)
    }
  }

  bind(cacheName: string): void {
    if (this.boundTo === undefined) {
      this.boundTo = cacheName
      return
    }
    if (!this.capabilities.distributed) {
      throw new InvalidOptionsError(
        `memory handle '${this.name}' is already used by cache '${this.boundTo}': a local handle belongs to one manager, create one per manager`,
        { source: this.name },
      )
    }
    if (cacheName !== this.boundTo) {
      throw new InvalidOptionsError(
        `distributed memory handle '${this.name}' holds cache '${this.boundTo}' and cannot also hold cache '${cacheName}'`,
        { source: this.name },
      )
    }
  }

  sweep(): number {
    const now = Date.now()
    this.rebase(now)
    // Collect first, drop after: a listener may change the tables while we walk them.
    const expired: Array<[string, MemoryEntry<V>]> = []
    for (const table of this.tables()) {
      for (const pair of table.items) if (isExpired(pair[1], now)) expired.push(pair)
    }
    let removed = 0
    for (const [key, entry] of expired) {
      if (entry.shape.table.items.get(key) !== entry) continue
      this.drop(key, entry)
      this.emit(key, entry, 'expired')
      removed++
    }
    return removed
  }

  /**
   * Counts entry times from `now` on once the clock ran REBASE_AFTER_MS past the base (the
   * next write or sweep; otherwise nothing). They are offsets from a time base, which V8 keeps
   * inside the entry as small integers up to 2^31 ms (about 24.8 days) either side; past that
   * each would be a 16-byte heap number, and every sliding hit would allocate one. O(entries),
   * once in ~12 days. An entry dropped before keeps its shape and offsets, so whoever still
   * holds it reads the same times.
   */
  private rebase(now: number): void {
    if (now - this.base <= REBASE_AFTER_MS) return
    this.base = now
    this.root.rebase(now)
    for (const table of this.regions.values()) table.rebase(now)
    for (const table of this.tables()) {
      for (const entry of table.items.values()) {
        const { mode, ttl, grace } = entry.shape
        // The same expiration and mark, counted from the new base.
        entry.rebase(entry.shape.markOn(table.shape(mode, ttl, grace)))
      }
    }
  }

  /** The live tables: `root`, then the regions'. */
  private tables(): KeyTable<V>[] {
    return [this.root, ...this.regions.values()]
  }

  /** The entry under a key, expired or not, without marking it read. */
  private find(key: string, region: string | undefined): MemoryEntry<V> | undefined {
    return region === undefined ? this.root.items.get(key) : this.regions.get(region)?.items.get(key)
  }

  /** The unexpired entry under a key; an expired one is dropped (and reported) on the way. */
  private live(key: string, region: string | undefined): MemoryEntry<V> | undefined {
    const entry = this.find(key, region)
    if (entry === undefined || entry.expiry === null || !pastGrace(entry, Date.now() - entry.shape.base))
      return entry
    this.drop(key, entry)
    this.emit(key, entry, 'expired')
    return undefined
  }

  /**
   * Writes a new entry (writes never mutate an entry a reader may still hold, so an item
   * returned by `get` keeps its value and version), marked as written (as read if the item
   * it replaces was), then evicts until both bounds hold.
   */
  private store(key: string, region: string | undefined, item: ItemInput<V>, version: number): void {
    const size = this.sizeOf === undefined ? 0 : this.measure(key, region, item.value)
    // `created` is about now: one subtraction tells whether the clock may have run far enough.
    if (item.created - this.base > REBASE_AFTER_MS) this.rebase(Date.now())
    let table = region === undefined ? this.root : this.regions.get(region)
    if (table === undefined) {
      table = new KeyTable<V>(region, this.base)
      this.regions.set(region as string, table)
    }
    const none = item.mode === 'none'
    // A `none` item keeps the grace it was given (an expire to `none` and back keeps it).
    const written = table.shape(item.mode, none ? 0 : shapeTtl(item), item.grace ?? 0)
    const map = table.items
    const previous = map.get(key)
    const shape = previous !== undefined && previous.shape.hot === previous.shape ? written.hot : written
    const entry = new MemoryEntry<V>(shape, item.value, none ? 0 : item.expiresAt, item.created, version)
    if (previous === undefined) this.count++
    else this.forgetSize(previous)
    map.set(key, entry)
    if (this.sizes !== undefined) {
      this.sizes.set(entry, size)
      this.totalBytes += size
    }
    if (this.count > this.maxEntries || this.totalBytes > this.maxBytes) this.evict(entry)
    else if (previous === undefined && this.hand !== undefined && !this.nearBound()) this.releaseHand()
  }

  /**
   * Within an eighth of a bound. While it is, evictions come often enough that the hand keeps
   * its place (a write of a new key after a remove, say, evicts nothing). Below, none may come
   * for a long time, and a held hand would keep alive every storage its map outgrows or
   * shrinks from, with the items removed since: the hand is let go of (`store`, `drop`).
   */
  private nearBound(): boolean {
    return this.count > this.maxEntries * 0.875 || this.totalBytes > this.maxBytes * 0.875
  }

  /** Size of a value for `maxBytes`; a value that can never fit also drops the key's old item (it is stale). */
  private measure(key: string, region: string | undefined, value: V): number {
    const size = (this.sizeOf as (value: V) => number)(value)
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
      throw new InvalidOptionsError(`memoryHandle: sizeOf returned ${String(size)}; expected bytes >= 0`, {
        source: this.name,
      })
    }
    if (size > this.maxBytes) {
      const stale = this.find(key, region)
      if (stale !== undefined) this.drop(key, stale)
      throw new ValueTooLargeError(
        `memory handle '${this.name}': a value of ${size} bytes exceeds maxBytes (${this.maxBytes})`,
        { source: this.name },
      )
    }
    return size
  }

  /**
   * Moves the hand until both bounds hold: a marked entry loses a mark, an unmarked one is
   * evicted (after MAX_SPARED spared, the next one is, marked or not). `written`, the entry
   * whose write went over a bound, is passed over: a write never evicts what it wrote.
   */
  private evict(written: MemoryEntry<V>): void {
    let spared = 0
    let now = 0
    while (this.count > this.maxEntries || this.totalBytes > this.maxBytes) {
      const [key, entry] = this.advanceHand()
      if (entry === written) continue
      const shape = entry.shape
      if (shape.cooler !== shape && spared < MAX_SPARED) {
        entry.shape = shape.cooler
        spared++
        continue
      }
      this.drop(key, entry)
      if (entry.expiry !== null && now === 0) now = Date.now()
      this.emit(key, entry, isExpired(entry, now) ? 'expired' : 'evicted')
    }
  }

  /**
   * The next entry under the hand: on through its table, then the next table (root, then
   * the regions in the order they were made), round again after the last. Only called while
   * a bound is exceeded, so some table holds an entry.
   */
  private advanceHand(): [string, MemoryEntry<V>] {
    for (;;) {
      this.hand ??= this.root.items.entries()
      const step = this.hand.next()
      if (step.done !== true) return step.value
      this.handRegions ??= this.regions.values()
      const region = this.handRegions.next()
      if (region.done === true) this.handRegions = undefined
      this.hand = (region.done === true ? this.root : region.value).items.entries()
    }
  }

  /** Puts the hand back at the start of `root`, letting go of the iterator it held. */
  private releaseHand(): void {
    this.hand = undefined
    this.handRegions = undefined
  }

  /** Removes an entry from its map and the counters. */
  private drop(key: string, entry: MemoryEntry<V>): void {
    const table = entry.shape.table
    table.items.delete(key)
    // Only the region's current table: one replaced by clearRegion is no longer listed.
    if (table !== this.root && table.items.size === 0 && this.regions.get(table.region as string) === table)
      this.regions.delete(table.region as string)
    this.count--
    this.forgetSize(entry)
    // Emptied by removes and expiry, the cache lets the hand go (see `nearBound`).
    if (this.hand !== undefined && !this.nearBound()) this.releaseHand()
  }

  private forgetSize(entry: MemoryEntry<V>): void {
    if (this.sizes === undefined) return
    this.totalBytes -= this.sizes.get(entry) ?? 0
    this.sizes.delete(entry)
  }

  private emit(key: string, entry: MemoryEntry<V>, reason: EvictReason): void {
    const listeners = this.listeners
    for (let i = 0; i < listeners.length; i++) (listeners[i] as EvictListener)(key, entry.region, reason)
  }
}

/**
 * The `ttl` an item's shape records: {@link DERIVED_TTL} for an absolute item whose times,
 * whole ms, differ by exactly its TTL (the entry's offsets then give it back exactly), else
 * the TTL itself.
 */
function shapeTtl(item: ItemInput<unknown>): number {
  const { ttl, expiresAt, created } = item
  return item.mode === 'absolute' &&
    ttl > 0 &&
    Number.isInteger(expiresAt) &&
    Number.isInteger(created) &&
    expiresAt - created === ttl
    ? DERIVED_TTL
    : ttl
}

/** Past the end of its grace (physically gone) at `now`, epoch ms. */
function isExpired(entry: MemoryEntry<unknown>, now: number): boolean {
  return entry.expiry !== null && pastGrace(entry, now - entry.shape.base)
}

/** Past the end of its grace at `sinceBase`, ms from `entry.shape.base`; the entry has an expiry. */
function pastGrace(entry: MemoryEntry<unknown>, sinceBase: number): boolean {
  return sinceBase >= (entry.expiry as number) + entry.shape.grace
}
