import type { ExpirationMode, StoredItem } from '@cacheplane/core'

/**
 * One cached item, and at the same time the `StoredItem` that `get` returns: a hit
 * allocates nothing. Callers see it through the read-only `StoredItem` type; the
 * handle keeps its LRU links and bookkeeping on it.
 *
 * Every field is initialised in the one constructor, in the same order, so all
 * entries share one hidden class and the hot path stays monomorphic.
 */
export class MemoryEntry<V> implements StoredItem<V> {
  /** The stored value (bytes in distributed mode). */
  value: V
  /** Expiration mode. */
  mode: ExpirationMode
  /** TTL in ms; 0 for 'none'. */
  ttl: number
  /** Epoch ms when the item expires; 0 = never (no clock read for such items). */
  expiresAt: number
  /** Epoch ms when the item was written. */
  created: number
  /** Version, bumped by every write. */
  version: number
  /** Key, kept so LRU eviction can delete the map entry. */
  readonly key: string
  /** Region, kept so LRU eviction finds the right map (and for evict listeners). */
  readonly region: string | undefined
  /** Size counted against `maxBytes` (0 when no byte bound is set). */
  readonly size: number
  /** Neighbour towards the most recently used end (the sentinel at the head). */
  newer: MemoryEntry<V>
  /** Neighbour towards the least recently used end (the sentinel at the tail). */
  older: MemoryEntry<V>

  constructor(
    key: string,
    region: string | undefined,
    value: V,
    mode: ExpirationMode,
    ttl: number,
    expiresAt: number,
    created: number,
    version: number,
    size: number,
  ) {
    this.value = value
    this.mode = mode
    this.ttl = ttl
    this.expiresAt = expiresAt
    this.created = created
    this.version = version
    this.key = key
    this.region = region
    this.size = size
    // A fresh entry links to itself until it is put into the list: the fields are never
    // undefined, which keeps their type (and V8's field representation) a plain object.
    this.newer = this
    this.older = this
  }
}
