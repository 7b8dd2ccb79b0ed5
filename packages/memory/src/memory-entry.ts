import type { ExpirationMode, StoredItem } from '@cacheplane/core'
import type { EntryShape } from './entry-shape.js'

/**
 * Timestamps are kept as ms offsets from this instant. Offsets of times within ~24 days
 * of it are small integers that V8 stores inside the object, where absolute epoch ms
 * (~1.7e12) would each cost a separate 16-byte heap number: two per entry.
 */
export const TIME_BASE = Date.now()

/**
 * The offset of an epoch-ms time from TIME_BASE, as a small integer when it fits: the
 * result of double arithmetic is a heap number even when integral, and `| 0` is what
 * turns it back into an unboxed one.
 */
export function timeOffset(epochMs: number): number {
  const offset = epochMs - TIME_BASE
  const small = offset | 0
  return small === offset ? small : offset
}

/** `offset + ms` kept unboxed when it fits (see {@link timeOffset}). */
export function addMs(offset: number, ms: number): number {
  const sum = offset + ms
  const small = sum | 0
  return small === sum ? small : sum
}

/**
 * One cached item, and at the same time the `StoredItem` that `get` returns: a hit
 * allocates nothing. Callers see it through the read-only `StoredItem` type (and read
 * its properties; all but `value` and `version` are getters); the handle keeps its LRU
 * links on it.
 *
 * Bytes per entry are the point of the layout. Node runs without pointer compression, so
 * every field is 8 bytes on top of a 24-byte object header; the entry keeps only what
 * differs from item to item (8 fields), and what items written alike share (mode, TTL,
 * grace, the table they live in) sits in one {@link EntryShape} they all point to.
 *
 * Every field is initialised in the one constructor, in the same order, so all entries
 * share one hidden class and the hot path stays monomorphic.
 */
export class MemoryEntry<V> implements StoredItem<V> {
  /** The stored value (bytes in distributed mode). */
  value: V
  /** Version: a new one for every write (see `StoredItem.version`). */
  readonly version: number
  /** Key, kept so LRU eviction can delete the map entry. */
  readonly key: string
  /** Mode, TTL, grace and table, shared by the entries written alike. */
  readonly shape: EntryShape<V>
  /** Expiry as an offset from TIME_BASE; null = never (the hot path then reads no clock). */
  expiry: number | null
  /** Creation time as an offset from TIME_BASE. */
  born: number
  /** Neighbour towards the most recently used end (the sentinel at the head). */
  newer: MemoryEntry<V>
  /** Neighbour towards the least recently used end (the sentinel at the tail). */
  older: MemoryEntry<V>

  constructor(
    key: string,
    shape: EntryShape<V>,
    value: V,
    expiresAt: number,
    created: number,
    version: number,
  ) {
    this.value = value
    this.version = version
    this.key = key
    this.shape = shape
    // Storing a non-number first makes V8 keep these fields "tagged" for good: in-range
    // offsets stay unboxed integers, and an odd out-of-range time boxes only itself
    // instead of switching every entry to boxed doubles.
    this.expiry = null
    this.expiry = expiresAt === 0 ? null : timeOffset(expiresAt)
    this.born = null as unknown as number
    this.born = timeOffset(created)
    // A fresh entry links to itself until it is put into the list: the fields are never
    // undefined, which keeps their type (and V8's field representation) a plain object.
    this.newer = this
    this.older = this
  }

  /** Expiration mode. */
  get mode(): ExpirationMode {
    return this.shape.mode
  }

  /** TTL in ms; 0 for 'none'. */
  get ttl(): number {
    return this.shape.ttl
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
    return this.expiry === null ? 0 : this.expiry + TIME_BASE
  }

  /** When the item was written, epoch ms. */
  get created(): number {
    return this.born + TIME_BASE
  }
}
