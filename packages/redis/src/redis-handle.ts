import type {
  BulkEntry,
  HandleLock,
  CacheHandle,
  HandleCapabilities,
  EvictListener,
  ExpirationMode,
  ItemInput,
  StoredItem,
  UpdateOutcome,
} from '@cacheplane/core'
import { EvictNotifier } from './evict-notifier.js'
import { peekItem, readItem, touchItem } from './item-reads.js'
import { type RedisBulk, redisBulk } from './bulk.js'
import { rethrowCorrupt } from './item-codec.js'
import { addItem, expireItem, setItem, updateItem, writeOf } from './item-writes.js'
import { KeyLayout } from './key-layout.js'
import { redisLock } from './redis-lock.js'
import { registerWriteClient } from './ordered-writes.js'
import { closeClient, masters, type RedisClient, resolveConnection } from './redis-connection.js'
import {
  REDIS_CAPABILITIES,
  type RedisHandleOptions,
  type RedisHandleSettings,
  redisHandleSettings,
} from './redis-handle-options.js'
import { scanAndUnlink } from './scan-clear.js'

export type { RedisHandleOptions } from './redis-handle-options.js'

/**
 * A Redis cache handle (standalone, Sentinel or Cluster) storing one STRING per item
 * under `<prefix><cacheName>:<region>:<key>`: core's envelope (a 36-byte header with
 * mode, ttl, expiresAt, created and version, then the value bytes), expired by Redis
 * itself (PX/PEXPIRE). Reads are a plain GET (item-reads.ts); add is SET NX; set a plain
 * SET (the writer draws the version); CAS update, expire and the sliding touch are
 * single-key Lua scripts (item-writes.ts, Cluster-safe).
 *
 * Clears use SCAN by prefix on every master with batched UNLINK, not generation
 * counters: a read stays one round trip (no generation lookup), cleared memory is
 * freed at once instead of waiting for TTLs, and nothing but the items is stored.
 * The cost is O(keys in the database) per clear, which is acceptable for an
 * operation that is rare by nature; other caches sharing the database are untouched.
 */
export function redisHandle(options: RedisHandleOptions = {}): RedisCacheHandle {
  const settings = redisHandleSettings(options)
  const { client, owned } = resolveConnection('redisHandle', options)
  return new RedisCacheHandle(settings, client, owned) satisfies CacheHandle<Uint8Array>
}

/** The handle {@link redisHandle} returns: every method of the contract, optional ones included. */
export class RedisCacheHandle implements CacheHandle<Uint8Array> {
  /** Handle name for stats, events and errors. */
  readonly name: string
  /** What Redis can do: distributed, CAS, sliding, region clears by SCAN. */
  readonly capabilities: HandleCapabilities = REDIS_CAPABILITIES
  readonly #settings: RedisHandleSettings
  readonly #client: RedisClient
  /** True when we opened the client, and so close it. */
  readonly #owned: boolean
  readonly #keys: KeyLayout
  readonly #evictions: EvictNotifier
  /** getOrAdd's cluster lock (`distributedLock`), next to the items but never one of them. */
  readonly lock: HandleLock
  readonly #bulk: RedisBulk
  #closed = false

  /** Use {@link redisHandle}: it checks the options and resolves the connection. */
  constructor(settings: RedisHandleSettings, client: RedisClient, owned: boolean) {
    this.name = settings.name
    this.#settings = settings
    this.#client = client
    this.#owned = owned
    registerWriteClient(this, client)
    this.#keys = new KeyLayout(settings.name, settings.prefix)
    this.#evictions = new EvictNotifier(this.#keys)
    this.lock = redisLock(client, () => this.#keys.lockPrefix())
    this.#bulk = redisBulk({
      client,
      keyOf: (key, region) => this.#keys.itemKey(key, region),
      writeOf,
      rethrow: rethrowCorrupt,
      ownDeletes: () => this.#evictions.trackedDeletes(),
    })
  }

  /** Binds to one cache (several managers of that cache may share the handle); watches keyspace events if asked. */
  async bind(cacheName: string): Promise<void> {
    if (!this.#keys.bind(cacheName)) return
    if (this.#settings.keyspaceNotifications)
      await this.#evictions.watch(this.#client, this.#settings.configureServer)
  }

  /** One GET; a sliding item is extended by the touch script. */
  async get(key: string, region: string | undefined): Promise<StoredItem<Uint8Array> | undefined> {
    return await readItem(this.#client, this.#keys.itemKey(key, region))
  }

  /** One plain GET and nothing else: a sliding item is not extended. */
  async peek(key: string, region: string | undefined): Promise<StoredItem<Uint8Array> | undefined> {
    return await peekItem(this.#client, this.#keys.itemKey(key, region))
  }

  /** MGET per hash slot; sliding items extended as `get` extends them (bulk.ts). */
  async getMany(
    keys: readonly string[],
    region: string | undefined,
  ): Promise<ReadonlyArray<StoredItem<Uint8Array> | undefined>> {
    return await this.#bulk.getMany(keys, region)
  }

  /** One pipeline of SETs (per hash slot on a Cluster); the versions written, in order. */
  async setMany(
    entries: ReadonlyArray<BulkEntry<Uint8Array>>,
    region: string | undefined,
  ): Promise<readonly number[]> {
    return await this.#bulk.setMany(entries, region)
  }

  /** UNLINK of many keys (per hash slot on a Cluster); how many were removed. */
  async removeMany(keys: readonly string[], region: string | undefined): Promise<number> {
    return await this.#bulk.removeMany(keys, region)
  }

  /** SET NX. */
  async add(key: string, region: string | undefined, item: ItemInput<Uint8Array>): Promise<boolean> {
    return await addItem(this.#client, this.#keys.itemKey(key, region), item)
  }

  /** A plain SET; returns the version written. */
  set(key: string, region: string | undefined, item: ItemInput<Uint8Array>): Promise<number> {
    // No async frame of its own (the hot write path): setItem's promise is returned as it is,
    // and an unbound handle's error still arrives as a rejection.
    let fullKey: string
    try {
      fullKey = this.#keys.itemKey(key, region)
    } catch (error) {
      return Promise.reject(error)
    }
    return setItem(this.#client, fullKey, item)
  }

  /** CAS on the version, in one script. */
  async update(
    key: string,
    region: string | undefined,
    expectedVersion: number,
    item: ItemInput<Uint8Array>,
  ): Promise<UpdateOutcome> {
    return await updateItem(this.#client, this.#keys.itemKey(key, region), expectedVersion, item)
  }

  /** UNLINK; true when a key was removed. */
  async remove(key: string, region: string | undefined): Promise<boolean> {
    const fullKey = this.#keys.itemKey(key, region)
    return (await this.#evictions.removing(fullKey, () => this.#client.unlink(fullKey))) > 0
  }

  /** Rewrites the item's expiration in one script; false when absent. */
  async expire(
    key: string,
    region: string | undefined,
    mode: ExpirationMode,
    ttl: number,
    expiresAt: number,
  ): Promise<boolean> {
    return await expireItem(this.#client, this.#keys.itemKey(key, region), mode, ttl, expiresAt)
  }

  /** Extends a sliding item without reading it. */
  async touch(key: string, region: string | undefined): Promise<boolean> {
    return await touchItem(this.#client, this.#keys.itemKey(key, region))
  }

  /** SCAN and UNLINK every key of the cache on every master. */
  async clear(): Promise<void> {
    await this.#clearUnder(this.#keys.bound())
  }

  /** SCAN and UNLINK every key of one region on every master. */
  async clearRegion(region: string): Promise<void> {
    await this.#clearUnder(this.#keys.regionPrefix(region))
  }

  /**
   * A PING on the connection to every master: each answers once every command sent on it
   * before was (a clear's UNLINKs included, on every master), see `CacheHandle.barrier`.
   */
  async barrier(): Promise<void> {
    await Promise.all((await masters(this.#client)).map((node) => node.ping()))
  }

  /** Listens for keys Redis expired or evicted, or another client deleted (with `keyspaceNotifications`). */
  onEvict(listener: EvictListener): () => void {
    return this.#evictions.onEvict(listener)
  }

  /** Stops listening, and closes the client when we opened it. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#keys.close()
    await this.#evictions.close()
    if (this.#owned) await closeClient(this.#client)
  }

  #clearUnder(keyPrefix: string): Promise<void> {
    return this.#evictions.clearing(keyPrefix, () =>
      scanAndUnlink(this.#client, keyPrefix, this.#settings.scanCount),
    )
  }
}
