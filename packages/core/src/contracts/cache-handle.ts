import type { HandleLock } from './handle-lock.js'

/** A value or a promise of it: synchronous handles (memory) do not pay for a promise. */
export type MaybePromise<T> = T | Promise<T>

/** How an item expires. TTLs are always milliseconds. */
export type ExpirationMode = 'none' | 'absolute' | 'sliding'

/** Expiration as users write it: `{ mode: 'none' }` or a mode with a TTL in ms. */
export type Expiration = { mode: 'none' } | { mode: 'absolute' | 'sliding'; ttl: number }

/**
 * One stored item as a handle returns it.
 *
 * `value` is the application value for handles that keep objects (memory) and the
 * serializer's bytes for handles that declare `capabilities.bytes`.
 */
export interface StoredItem<V = unknown> {
  /** The value, or its serialized bytes for a `bytes` handle. */
  readonly value: V
  /** Expiration mode of the item. */
  readonly mode: ExpirationMode
  /** TTL in ms for `absolute` and `sliding` items; 0 for `none`. */
  readonly ttl: number
  /** When the item expires, epoch ms (for sliding: last access + ttl); 0 = never. */
  readonly expiresAt: number
  /** When the item was written, epoch ms. */
  readonly created: number
  /**
   * Names the write that made the item: a positive safe integer this key never had before in
   * this store, not even before a remove, expiry or clear (see `newVersion`). Compare it for
   * equality only: versions are not ordered. Every write assigns a new one, `expire`
   * included (else an update prepared before it would write the old lifetime back); a
   * read, or a sliding item's `touch`, does not.
   */
  readonly version: number
  /**
   * Grace, ms: the item stays stored until `expiresAt + grace` and may be returned in that
   * window (core serves it only on explicit stale paths). Absent or 0 = none. Only handles
   * with `capabilities.grace` keep it.
   */
  readonly grace?: number | undefined
}

/**
 * What a write hands a handle. `expiresAt` is computed by core (so a copy-up keeps
 * the remaining lifetime of the lower item); `version`, when given, is stored as is
 * (copies keep the source's version), otherwise the handle assigns a new one (see
 * `StoredItem.version`).
 */
export interface ItemInput<V = unknown> {
  readonly value: V
  readonly mode: ExpirationMode
  readonly ttl: number
  readonly expiresAt: number
  readonly created: number
  readonly version?: number
  /** Grace, ms, kept after `expiresAt` (see {@link StoredItem.grace}); absent or 0 = none. */
  readonly grace?: number | undefined
}

/** One write of a {@link CacheHandle.setMany}: a key and its item (as `set` gets them). */
export interface BulkEntry<V = unknown> {
  readonly key: string
  readonly item: ItemInput<V>
}

/** Result of a compare-and-set update. */
export type UpdateOutcome =
  | { readonly status: 'ok'; readonly version: number }
  | { readonly status: 'conflict' | 'missing' }

/** Why a handle dropped an item by itself. */
export type EvictReason = 'expired' | 'evicted' | 'external'

/** Called by a handle when it dropped an item on its own (not on a remove/clear by core). */
export type EvictListener = (key: string, region: string | undefined, reason: EvictReason) => void

/**
 * Called by a handle that found its cache (`region` undefined) or one region cleared in the
 * store when nobody told it: see {@link CacheHandle.onExternalClear}.
 */
export type ExternalClearListener = (region: string | undefined) => void

/** How a handle clears a region (documentation and conformance read this). */
export type RegionClearStrategy = 'native' | 'scan' | 'generation'

/** What a handle can do, declared as data; core, the conformance suites and the docs read it. */
export interface HandleCapabilities {
  /** Shared between application instances (Redis, Memcached); remote invalidations never touch it. */
  readonly distributed: boolean
  /** Stores bytes: core serializes values before writing and deserializes after reading. */
  readonly bytes: boolean
  /** Versioned compare-and-set `update` is atomic. Without it `update` is rejected for this handle at the bottom. */
  readonly cas: boolean
  /** Supports sliding expiration (a read extends the item's lifetime). */
  readonly sliding: boolean
  /** Longest TTL the handle accepts, ms; `Infinity` when unlimited. Core clamps longer TTLs. */
  readonly maxTtlMs: number
  /** Smallest unit of time the store keeps, ms (1 for ms stores, 1000 for Memcached). Core rounds TTLs up to it. */
  readonly ttlGranularityMs: number
  /** How `clearRegion` works. */
  readonly clearRegion: RegionClearStrategy
  /** `get`/`set`/... return synchronously (memory). Lets core skip awaits on the hot path. */
  readonly synchronous: boolean
  /**
   * Keeps an item's `grace`: stores it until `expiresAt + grace` and returns it (with its
   * `grace`) in that window. Absent = false: grace is not passed, the item ends at `expiresAt`.
   */
  readonly grace?: boolean | undefined
  /**
   * Never keeps the `Uint8Array` a write is given: the handle copies the bytes (into its
   * envelope, a network buffer) and drops the array. When every bytes handle of a manager
   * says so, core's serializer may hand out slices of Node's shared buffer pool instead of
   * allocating a backing store per write (a kept slice would hold its whole pool). Absent =
   * false. Only a bytes handle reads it; the conformance suite checks it.
   */
  readonly copiesBytes?: boolean | undefined
}

/**
 * A dumb store. Keys are a `key` plus an optional `region` passed as two arguments
 * (no per-call key object on the hot path); the same key in two regions is two items.
 * Every member may throw raw errors: core wraps them in typed errors.
 */
export interface CacheHandle<V = unknown> {
  /** Unique name of the handle within a manager (stats, events and errors carry it). */
  readonly name: string
  /** What the handle can do. */
  readonly capabilities: HandleCapabilities
  /**
   * Reads an item; expired items are never returned (an item in its grace window, past
   * `expiresAt` but before `expiresAt + grace`, is, with its `grace`). Sliding items are extended by the read.
   */
  get(key: string, region: string | undefined): MaybePromise<StoredItem<V> | undefined>
  /** Writes the item only if the key is absent (atomic). True when written. */
  add(key: string, region: string | undefined, item: ItemInput<V>): MaybePromise<boolean>
  /** Writes the item unconditionally; returns the version stored. */
  set(key: string, region: string | undefined, item: ItemInput<V>): MaybePromise<number>
  /**
   * Atomic compare-and-set: writes the item only if the stored version equals
   * `expectedVersion`; the item then gets a new version (never one the key had) unless `item.version` is given.
   */
  update(
    key: string,
    region: string | undefined,
    expectedVersion: number,
    item: ItemInput<V>,
  ): MaybePromise<UpdateOutcome>
  /** Removes an item. True when something was removed. */
  remove(key: string, region: string | undefined): MaybePromise<boolean>
  /**
   * Changes an existing item's expiration (expiresAt computed by core) and gives it a new
   * version. True when the item exists; an item past its expiry, kept for its grace, does not
   * (re-timing it would revive an expired value): false, and it is left as it is.
   */
  expire(
    key: string,
    region: string | undefined,
    mode: ExpirationMode,
    ttl: number,
    expiresAt: number,
  ): MaybePromise<boolean>
  /** Removes every item of this handle's cache (never data of other caches). */
  clear(): MaybePromise<void>
  /** Removes every item of one region. */
  clearRegion(region: string): MaybePromise<void>
  /** Releases what the handle opened (connections, timers); never what it was given. */
  close(): MaybePromise<void>
  /** Extends a sliding item's lifetime without reading it. True when the item exists. */
  touch?(key: string, region: string | undefined): MaybePromise<boolean>
  /**
   * Reads an item like `get` without changing anything: a sliding item is not extended,
   * nothing is removed or reordered. Core's `has` reads with it (with `get` when absent, so a
   * handle that declares `sliding` should have it), and so does `cacheplane inspect`.
   */
  peek?(key: string, region: string | undefined): MaybePromise<StoredItem<V> | undefined>
  /**
   * Reads several keys of one region in one round trip, results in the order of `keys` (each
   * as `get` returns it: sliding items extended, expired ones absent). Optional: core reads
   * key by key without it. Keys are distinct (core removes duplicates).
   */
  getMany?(
    keys: readonly string[],
    region: string | undefined,
  ): MaybePromise<ReadonlyArray<StoredItem<V> | undefined>>
  /**
   * Writes several items of one region unconditionally, each as `set` would (not atomic as a
   * whole), in one round trip; returns the versions stored, in the order of `entries`.
   * Optional: core writes key by key without it. Keys are distinct.
   */
  setMany?(entries: ReadonlyArray<BulkEntry<V>>, region: string | undefined): MaybePromise<readonly number[]>
  /**
   * Removes several keys of one region in one round trip; returns how many were removed.
   * Optional: core removes key by key without it. Keys are distinct.
   */
  removeMany?(keys: readonly string[], region: string | undefined): MaybePromise<number>
  /** Registers a listener for items the handle drops by itself; returns an unsubscribe function. */
  onEvict?(listener: EvictListener): () => void
  /**
   * Registers a listener for clears the handle discovered by itself: its cache (`region`
   * undefined) or one region was cleared in the store by someone else, and neither this
   * handle's own `clear`/`clearRegion` nor `onRemoteClear` announced it (a lost backplane
   * message, no backplane at all). Core then drops that scope from the levels above this
   * handle, as for a clear heard on the backplane, so the copies taken before it are never
   * served again. A handle that keeps store state locally (Memcached's generation counters)
   * is the one that can notice. Returns an unsubscribe function.
   */
  onExternalClear?(listener: ExternalClearListener): () => void
  /**
   * Called by each manager that uses the handle, before first use, with its cache name
   * (handles that share a store scope their keys with it). Core's rule for a handle given
   * to several managers: only a distributed handle, listed in every such manager's `shared`
   * option, and only managers of one cache name; a local handle serves one manager.
   */
  bind?(cacheName: string): MaybePromise<void>
  /**
   * Another instance cleared the cache (`region` undefined) or one region, as heard on the
   * backplane, or a backplane gap means such a clear may have been missed (then `region` is
   * undefined). Distributed handles are otherwise never touched by remote messages; a handle
   * that caches store state locally (Memcached's generation counters) re-reads it here, all
   * of it when `region` is undefined (a missed clear may have been of any region). What the
   * re-read finds is not reported through `onExternalClear`: core already dropped that scope.
   */
  onRemoteClear?(region: string | undefined): MaybePromise<void>
  /**
   * Resolves once every command the handle sent before the call, on every connection it
   * has, was executed or can no longer be: each connection answered a command sent after
   * them (Redis: a PING to every master; Memcached: a no-op to every server). Core calls it
   * after a failed clear, which may still land (sent again after a reconnect, executed late
   * by a slow server), to learn when it is safe to announce the clear once more. Without it,
   * core reads one reserved key instead, which covers a store on one connection only.
   */
  barrier?(): MaybePromise<void>
  /**
   * The handle's cluster lock (see {@link HandleLock}); getOrAdd's `distributedLock` uses the
   * bottom handle's. Without it, such calls coalesce in-process only (one `distributedLock`
   * event of type `unsupported` says so).
   */
  readonly lock?: HandleLock | undefined
}
