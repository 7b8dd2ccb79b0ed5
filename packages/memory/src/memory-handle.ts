/**
 * The in-process handle: an LRU bounded by entries (and optionally bytes) with
 * absolute and sliding TTL, eviction events and version-based CAS, all synchronous.
 *
 * A memory hit through `CacheManager` is the product's hot path, which shapes the code:
 * the entry object is the `StoredItem` returned (no allocation on a hit), items without
 * expiry never read the clock, the LRU order is a doubly linked list through fields of
 * the entries (O(1), no arrays to grow), and regions are tables of their own so no call
 * builds a composite key string. Bytes per entry shape the entry: see `MemoryEntry`.
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
import { KeyTable } from './entry-shape.js'
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
  /** Reads an item without changing anything: no sliding extension, no LRU move, an expired item is left to the sweep. */
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
  // Circular list through a sentinel: `head.older` is the most recently used entry,
  // `head.newer` the least recently used. The sentinel removes every null check.
  private readonly head: MemoryEntry<V>
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
    this.head = new MemoryEntry<V>('', this.root.shape('none', 0, 0), undefined as V, 0, this.base, 0)
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
    const expiry = entry.expiry
    if (expiry !== null) {
      const now = hitClockSince(entry.shape)
      if (now >= expiry) {
        // In its grace window the entry is returned as it is (core decides whether it is
        // served); only the end of the grace drops it. Entries without grace pay nothing here.
        if (now >= expiry + entry.shape.grace) {
          this.drop(entry)
          this.emit(entry, 'expired')
          return undefined
        }
      } else if (entry.shape.mode === 'sliding') entry.expiry = addMs(now, entry.shape.ttl)
    }
    if (this.head.older !== entry) this.toFront(entry)
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
    this.drop(entry)
    if (isExpired(entry, Date.now())) {
      this.emit(entry, 'expired')
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
    this.head.newer = this.head
    this.head.older = this.head
    this.count = 0
    this.totalBytes = 0
  }

  clearRegion(region: string): void {
    const table = this.regions.get(region)
    if (table === undefined) return
    for (const entry of table.items.values()) this.unlink(entry)
    this.regions.delete(region)
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
    // Collect first, drop after: a listener may change the list while we walk it.
    const expired: MemoryEntry<V>[] = []
    for (let entry = this.head.older; entry !== this.head; entry = entry.older) {
      if (isExpired(entry, now)) expired.push(entry)
    }
    let removed = 0
    for (const entry of expired) {
      if (entry.shape.table.items.get(entry.key) !== entry) continue
      this.drop(entry)
      this.emit(entry, 'expired')
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
    for (let entry = this.head.older; entry !== this.head; entry = entry.older) {
      const { mode, ttl, grace, table } = entry.shape
      entry.rebase(table.shape(mode, ttl, grace))
    }
  }

  /** The entry under a key, expired or not, without touching the LRU order. */
  private find(key: string, region: string | undefined): MemoryEntry<V> | undefined {
    return region === undefined ? this.root.items.get(key) : this.regions.get(region)?.items.get(key)
  }

  /** The unexpired entry under a key; an expired one is dropped (and reported) on the way. */
  private live(key: string, region: string | undefined): MemoryEntry<V> | undefined {
    const entry = this.find(key, region)
    if (entry === undefined || entry.expiry === null || !pastGrace(entry, Date.now() - entry.shape.base))
      return entry
    this.drop(entry)
    this.emit(entry, 'expired')
    return undefined
  }

  /**
   * Writes a new entry (writes never mutate an entry a reader may still hold, so an item
   * returned by `get` keeps its value and version), makes it the most recently used,
   * then evicts from the cold end until both bounds hold.
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
    const shape = table.shape(item.mode, none ? 0 : item.ttl, item.grace ?? 0)
    const entry = new MemoryEntry<V>(key, shape, item.value, none ? 0 : item.expiresAt, item.created, version)
    const map = table.items
    const previous = map.get(key)
    if (previous === undefined) {
      this.count++
    } else {
      this.unlinkList(previous)
      this.forgetSize(previous)
    }
    map.set(key, entry)
    if (this.sizes !== undefined) {
      this.sizes.set(entry, size)
      this.totalBytes += size
    }
    this.linkFront(entry)
    if (this.count > this.maxEntries || this.totalBytes > this.maxBytes) this.evictCold()
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
      if (stale !== undefined) this.drop(stale)
      throw new ValueTooLargeError(
        `memory handle '${this.name}': a value of ${size} bytes exceeds maxBytes (${this.maxBytes})`,
        { source: this.name },
      )
    }
    return size
  }

  private evictCold(): void {
    let now = 0
    while (this.count > this.maxEntries || this.totalBytes > this.maxBytes) {
      const coldest = this.head.newer
      this.drop(coldest)
      if (coldest.expiry !== null && now === 0) now = Date.now()
      this.emit(coldest, isExpired(coldest, now) ? 'expired' : 'evicted')
    }
  }

  /** Removes an entry from its map and the list. */
  private drop(entry: MemoryEntry<V>): void {
    const table = entry.shape.table
    table.items.delete(entry.key)
    // Only the region's current table: one replaced by clearRegion is no longer listed.
    if (table !== this.root && table.items.size === 0 && this.regions.get(table.region as string) === table)
      this.regions.delete(table.region as string)
    this.unlink(entry)
  }

  /** Takes an entry out of the list and the counters (its map is handled by the caller). */
  private unlink(entry: MemoryEntry<V>): void {
    this.unlinkList(entry)
    this.count--
    this.forgetSize(entry)
  }

  private forgetSize(entry: MemoryEntry<V>): void {
    if (this.sizes === undefined) return
    this.totalBytes -= this.sizes.get(entry) ?? 0
    this.sizes.delete(entry)
  }

  private unlinkList(entry: MemoryEntry<V>): void {
    entry.newer.older = entry.older
    entry.older.newer = entry.newer
  }

  private linkFront(entry: MemoryEntry<V>): void {
    const first = this.head.older
    entry.newer = this.head
    entry.older = first
    first.newer = entry
    this.head.older = entry
  }

  private toFront(entry: MemoryEntry<V>): void {
    entry.newer.older = entry.older
    entry.older.newer = entry.newer
    this.linkFront(entry)
  }

  private emit(entry: MemoryEntry<V>, reason: EvictReason): void {
    const listeners = this.listeners
    for (let i = 0; i < listeners.length; i++)
      (listeners[i] as EvictListener)(entry.key, entry.region, reason)
  }
}

/** Past the end of its grace (physically gone) at `now`, epoch ms. */
function isExpired(entry: MemoryEntry<unknown>, now: number): boolean {
  return entry.expiry !== null && pastGrace(entry, now - entry.shape.base)
}

/** Past the end of its grace at `sinceBase`, ms from `entry.shape.base`; the entry has an expiry. */
function pastGrace(entry: MemoryEntry<unknown>, sinceBase: number): boolean {
  return sinceBase >= (entry.expiry as number) + entry.shape.grace
}
