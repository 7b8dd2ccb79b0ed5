import type { ExpirationMode, StoredItem } from '@cacheplane/core'
import { DERIVED_TTL, type EntryShape } from './entry-shape.js'

/**
 * The offset of an epoch-ms time from a time base (`EntryShape.base`), as a small integer
 * when it fits: the result of double arithmetic is a heap number even when integral, and
 * `| 0` is what turns it back into an unboxed one.
 */
export function timeOffset(epochMs: number, base: number): number {
  return small(epochMs - base)
}

/** A whole number of ms kept unboxed when it fits in a small integer (see {@link timeOffset}). */
function small(ms: number): number {
  const int = ms | 0
  return int === ms ? int : ms
}

/** `offset + ms` kept unboxed when it fits (see {@link timeOffset}). */
export function addMs(offset: number, ms: number): number {
  return small(offset + ms)
}

/**
 * One cached item, and at the same time the `StoredItem` that `get` returns: a hit
 * allocates nothing. Callers see it through the read-only `StoredItem` type (and read
 * its properties; all but `value` and `version` are getters).
 *
 * Bytes per entry are the point of the layout. Node runs without pointer compression, so
 * every field is 8 bytes on top of a 24-byte object header; the entry keeps only what
 * differs from item to item (5 fields), and what items written alike share (mode, TTL,
 * grace, the table they live in, the time base their times count from, and the eviction
 * mark) sits in an {@link EntryShape} they point to. The key is not kept: the map holds it,
 * and eviction walks the maps. The times are offsets from that base, small integers V8 keeps
 * inside the entry (absolute epoch ms, ~1.7e12, would each be a 16-byte heap number); the
 * handle moves the base as the clock runs, so they stay small.
 *
 * Every field is initialised in the one constructor, in the same order, so all entries
 * share one hidden class and the hot path stays monomorphic.
 */
export class MemoryEntry<V> implements StoredItem<V> {
  /** The stored value (bytes in distributed mode). */
  value: V
  /** Version: a new one for every write (see `StoredItem.version`). */
  readonly version: number
  /**
   * Mode, TTL, grace, table, time base and eviction mark, shared by the entries written
   * alike. Replaced by the same expiration with another mark as the entry is read or passed
   * by the eviction hand, and, with `expiry` and `born`, when the handle moves its time
   * base (`rebase`).
   */
  shape: EntryShape<V>
  /** Expiry as an offset from `shape.base`; null = never (the hot path then reads no clock). */
  expiry: number | null
  /** Creation time as an offset from `shape.base`. */
  born: number

  constructor(shape: EntryShape<V>, value: V, expiresAt: number, created: number, version: number) {
    this.value = value
    this.version = version
    this.shape = shape
    // Storing a non-number first makes V8 keep these fields "tagged" for good: in-range
    // offsets stay unboxed integers, and an odd out-of-range time boxes only itself
    // instead of switching every entry to boxed doubles.
    this.expiry = null
    this.expiry = expiresAt === 0 ? null : timeOffset(expiresAt, shape.base)
    this.born = null as unknown as number
    this.born = timeOffset(created, shape.base)
  }

  /**
   * Counts this entry's times from a new base: `shape` is the same expiration and mark in its
   * table, counted from `shape.base`. Only the handle's `rebase` calls it, on entries it holds.
   */
  rebase(shape: EntryShape<V>): void {
    const delta = this.shape.base - shape.base
    if (this.expiry !== null) this.expiry = addMs(this.expiry, delta)
    this.born = addMs(this.born, delta)
    this.shape = shape
  }

  /** Expiration mode. */
  get mode(): ExpirationMode {
    return this.shape.mode
  }

  /** TTL in ms; 0 for 'none'. */
  get ttl(): number {
    const ttl = this.shape.ttl
    return ttl === DERIVED_TTL ? (this.expiry as number) - this.born : ttl
  }

  /** Grace, ms: the entry is kept (and returned) until expiry + grace; 0 = none. */
  get grace(): number {
    return this.shape.grace
  }

  /** The region the entry belongs to (undefined for the cache's own items). */
  get region(): string | undefined {
    return this.shape.table.region
  }

  /** When the item expires, epoch ms; 0 = never. */
  get expiresAt(): number {
    return this.expiry === null ? 0 : this.expiry + this.shape.base
  }

  /** When the item was written, epoch ms. */
  get created(): number {
    return this.born + this.shape.base
  }
}
