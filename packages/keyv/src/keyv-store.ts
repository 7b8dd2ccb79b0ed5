import { EventEmitter } from 'node:events'
import type { CacheManager, WriteOptions } from '@cacheplane/core'
import type { KeyvStoreAdapter } from 'keyv'

/**
 * A Keyv storage adapter backed by a cacheplane `CacheManager`: give it to Keyv, and Keyv's
 * users — `cache-manager` 7 (`createCache({ stores: [new Keyv({ store })] })`) and NestJS's
 * `CacheModule` on top of it — read and write through cacheplane's layers, kept in sync
 * across instances by its backplane.
 *
 * Keyv's namespace (`'keyv'` unless set; Keyv assigns it to `namespace`) becomes the cacheplane
 * region of every key, so `clear()` clears that region only (the whole cache when Keyv has no
 * namespace). Keys are kept as Keyv sends them, prefixed with the namespace (`keyv:user:1` in
 * region `keyv`): stripping the prefix would merge two keys when Keyv's `useKeyPrefix` is off. A TTL from Keyv becomes an absolute expiration; without one the manager's default
 * applies. The manager stays the application's: `disconnect()` does not close it.
 */
export class KeyvCacheplaneStore<V = unknown> extends EventEmitter implements KeyvStoreAdapter {
  /** Keyv reads adapter options from here; this adapter has none. */
  opts: Record<string, unknown> = { dialect: 'cacheplane' }
  /** Set by Keyv: the region every key of this store lives in (none when undefined or empty). */
  namespace?: string | undefined

  /** Wraps `manager`, which the application keeps, configures and closes. */
  constructor(readonly manager: CacheManager<V>) {
    super()
  }

  /** The value of `key`, or undefined. */
  async get<Value>(key: string): Promise<Value | undefined> {
    return (await this.manager.get(key, this.#region())) as Value | undefined
  }

  /** The values of `keys` in order, undefined for misses (one `getMany`: one round trip per layer). */
  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    return (await this.manager.getMany(keys, this.#region())) as Array<Value | undefined>
  }

  /** Writes `value` on every layer and tells the other instances; `ttl` in ms, none for the default. */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    await this.manager.set(key, value as V, this.#writeOptions(ttl))
    return true
  }

  /** Writes several entries (each with its own TTL). */
  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    await Promise.all(entries.map(({ key, value, ttl }) => this.set(key, value, ttl)))
  }

  /** Removes `key` from every layer; true when a layer held it. */
  async delete(key: string): Promise<boolean> {
    return this.manager.remove(key, this.#region())
  }

  /** Removes several keys; true when any was held. */
  async deleteMany(keys: string[]): Promise<boolean> {
    const removed = await Promise.all(keys.map((key) => this.delete(key)))
    return removed.includes(true)
  }

  /** True when a layer holds `key`. */
  async has(key: string): Promise<boolean> {
    return this.manager.has(key, this.#region())
  }

  /** True per key when a layer holds it. */
  async hasMany(keys: string[]): Promise<boolean[]> {
    return Promise.all(keys.map((key) => this.has(key)))
  }

  /** Clears the namespace's region on every instance, or the whole cache without a namespace. */
  async clear(): Promise<void> {
    const { region } = this.#region()
    await (region === undefined ? this.manager.clear() : this.manager.clearRegion(region))
  }

  /** Does nothing: the manager belongs to the application, which closes it. */
  async disconnect(): Promise<void> {}

  #region(): { region: string | undefined } {
    return { region: this.namespace === undefined || this.namespace === '' ? undefined : this.namespace }
  }

  #writeOptions(ttl: number | undefined): WriteOptions {
    // Keyv passes undefined (or 0, which it turns into undefined) for "no TTL of its own".
    if (ttl === undefined || ttl <= 0) return this.#region()
    return { ...this.#region(), expiration: { mode: 'absolute', ttl } }
  }
}

/** A Keyv store backed by `manager`: `new Keyv({ store: keyvStore(manager) })`. */
export function keyvStore<V = unknown>(manager: CacheManager<V>): KeyvCacheplaneStore<V> {
  return new KeyvCacheplaneStore(manager)
}
