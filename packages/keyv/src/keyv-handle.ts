import {
  type CacheHandle,
  ClosedError,
  type ExpirationMode,
  InvalidOptionsError,
  type ItemInput,
  ItemCorruptError,
  NotSupportedError,
  newVersion,
  type StoredItem,
} from '@cacheplane/core'
import { type KeyvBulkStore, keyvBulk } from './bulk.js'
import { Generations, isToken } from './generations.js'
import { decodeItem, encodeItem, isLive, tryDecodeItem } from './item-text.js'
import { KeyLayout } from './key-layout.js'
import { KeyLock } from './key-lock.js'
import { type KeyvHandleOptions, type KeyvStorage, resolveKeyvOptions } from './keyv-handle-options.js'

/** The store's TTL for an item, ms: the remaining lifetime, or undefined for none (only frees space). */
function storeTtl(item: { mode: ExpirationMode; expiresAt: number }, now: number): number | undefined {
  if (item.mode === 'none' || item.expiresAt === 0) return undefined
  return Math.max(1, Math.ceil(item.expiresAt - now))
}

/** A handle's view of the store: the calls it makes, each awaited (Map answers synchronously). */
function storeCalls(store: KeyvStorage) {
  const getMany = (store as { getMany?: (keys: string[]) => Promise<unknown[]> }).getMany
  return {
    get: async (key: string): Promise<unknown> => store.get(key),
    set: async (key: string, value: string, ttl: number | undefined): Promise<void> => {
      await store.set(key, value, ttl)
    },
    delete: async (key: string): Promise<boolean> => (await store.delete(key)) === true,
    getMany:
      getMany === undefined
        ? (keys: string[]) => Promise.all(keys.map(async (key) => store.get(key)))
        : (keys: string[]) => getMany.call(store, keys),
  }
}

/**
 * A cacheplane layer on any Keyv storage adapter (PostgreSQL, MongoDB, MySQL, SQLite,
 * DynamoDB, etcd, ... or a `Map`): a bytes handle, distributed when the store is shared.
 *
 * Items are core's envelope in base64 under `<prefix><cache>:<generation>:<region>:<key>`;
 * clears write a new generation token (see generations.ts). Keyv has no conditional write,
 * so the handle declares no `cas` and no `sliding` (see `keyvCapabilities`). Versions are
 * core's `newVersion()`: random, so a key never gets one it had before. `add` and
 * `expire` read then write: atomic within a process (a per-key queue), not between
 * processes, where a write racing them may be lost (the later write wins).
 */
export function keyvHandle(options: KeyvHandleOptions) {
  const { store, prefix, name, generationRefreshMs, maxKeyBytes, capabilities } = resolveKeyvOptions(options)
  const calls = storeCalls(store)
  const lock = new KeyLock()
  let scope: { layout: KeyLayout; generations: Generations } | undefined
  let boundTo: string | undefined
  let closed = false

  const tokens = {
    async read(key: string): Promise<string | undefined> {
      const token = await calls.get(key)
      if (token === undefined || token === null) return undefined
      if (isToken(token)) return token
      throw new ItemCorruptError(`generation token '${key}' is corrupt; a clear replaces it`, {
        source: name,
      })
    },
    write: (key: string, token: string) => calls.set(key, token, undefined),
  }

  function bound(): { layout: KeyLayout; generations: Generations } {
    if (closed) throw new ClosedError(`keyv handle '${name}' is closed`, { source: name })
    if (scope === undefined) {
      throw new InvalidOptionsError(
        `keyv handle '${name}' is not bound to a cache: give it to a CacheManager (which calls bind(cacheName))`,
        { source: name },
      )
    }
    return scope
  }

  /** The store key of an item; a plain string while the generation tokens are fresh. */
  function itemKey(key: string, region: string | undefined): string | Promise<string> {
    const { layout, generations } = bound()
    const cacheToken = generations.cache()
    const regionToken = region === undefined ? undefined : generations.region(region)
    if (typeof cacheToken === 'string' && typeof regionToken !== 'object') {
      return layout.itemKey(cacheToken, regionToken, region, key)
    }
    return Promise.all([cacheToken, regionToken]).then(([cacheAt, regionAt]) =>
      layout.itemKey(cacheAt, regionAt, region, key),
    )
  }

  /** Reads a live item; an expired one is deleted (the store may keep it: Keyv TTLs are optional). */
  async function readLive(storeKey: string): Promise<StoredItem<Uint8Array> | undefined> {
    const stored = await calls.get(storeKey)
    if (stored === undefined || stored === null) return undefined
    const item = decodeItem(stored, name)
    if (isLive(item, Date.now())) return item
    await lock.run(storeKey, () => deleteIfStill(storeKey, item.version))
    return undefined
  }

  /** Deletes an expired item unless a write of this process replaced it meanwhile. */
  async function deleteIfStill(storeKey: string, version: number): Promise<void> {
    const current = tryDecodeItem(await calls.get(storeKey), name)
    if (current !== undefined && current.version === version) await calls.delete(storeKey)
  }

  async function write(storeKey: string, item: ItemInput<Uint8Array>, version: number): Promise<number> {
    await calls.set(storeKey, encodeItem(item, version), storeTtl(item, Date.now()))
    return version
  }

  return {
    name,
    capabilities,

    async get(key, region) {
      return readLive(await itemKey(key, region))
    },

    async peek(key, region) {
      // Like get, but an expired item is left where it is: a peek changes nothing.
      const stored = await calls.get(await itemKey(key, region))
      if (stored === undefined || stored === null) return undefined
      const item = decodeItem(stored, name)
      return isLive(item, Date.now()) ? item : undefined
    },

    async getMany(keys, region) {
      if (keys.length === 0) return []
      const storeKeys = await Promise.all(keys.map((key) => itemKey(key, region)))
      const stored = await calls.getMany(storeKeys)
      const now = Date.now()
      return storeKeys.map((_, i) => {
        const value = stored[i]
        if (value === undefined || value === null) return undefined
        const item = decodeItem(value, name)
        return isLive(item, now) ? item : undefined
      })
    },

    // The adapter's setMany / deleteMany under every key's lock, when it has them (bulk.ts).
    ...keyvBulk({ store: store as KeyvBulkStore, lock, itemKey, storeTtl }),

    async add(key, region, item) {
      const storeKey = await itemKey(key, region)
      return lock.run(storeKey, async () => {
        // A corrupt item counts as absent: the add replaces it.
        const current = tryDecodeItem(await calls.get(storeKey), name)
        if (current !== undefined && isLive(current, Date.now())) return false
        await write(storeKey, item, item.version ?? newVersion())
        return true
      })
    },

    async set(key, region, item) {
      const storeKey = await itemKey(key, region)
      return lock.run(storeKey, () => write(storeKey, item, item.version ?? newVersion()))
    },

    update(_key, _region, _expectedVersion, _item) {
      // capabilities.cas is false, so core never calls this; a direct caller learns why.
      throw new NotSupportedError(`keyv handle '${name}': a Keyv store has no compare-and-set`, {
        source: name,
      })
    },

    async remove(key, region) {
      const storeKey = await itemKey(key, region)
      return lock.run(storeKey, () => calls.delete(storeKey))
    },

    async expire(key, region, mode, ttl, expiresAt) {
      const storeKey = await itemKey(key, region)
      return lock.run(storeKey, async () => {
        const current = tryDecodeItem(await calls.get(storeKey), name)
        if (current === undefined || !isLive(current, Date.now())) return false
        // A new version: expire is a write, so an update prepared before it must not match.
        const next = { value: current.value, mode, ttl, expiresAt, created: current.created }
        await write(storeKey, next, newVersion())
        return true
      })
    },

    async clear() {
      await bound().generations.bumpCache()
    },

    async clearRegion(region) {
      await bound().generations.bumpRegion(region)
    },

    async onRemoteClear(region) {
      await bound().generations.refresh(region)
    },

    bind(cacheName) {
      // Two managers of the same cache may share the handle (same keys); another cache may not.
      if (scope !== undefined) {
        if (cacheName === boundTo) return
        throw new InvalidOptionsError(
          `keyv handle '${name}' is already used by cache '${boundTo}'; give each cache its own handle`,
          { source: name },
        )
      }
      const layout = new KeyLayout(prefix, cacheName, maxKeyBytes)
      const generations = new Generations(
        tokens,
        layout.cacheGenerationKey,
        (region) => layout.regionGenerationKey(region),
        generationRefreshMs,
      )
      scope = { layout, generations }
      boundTo = cacheName
    },

    close() {
      // The store was given to the handle: disconnecting it is the application's call.
      closed = true
    },
  } satisfies CacheHandle<Uint8Array>
}

/** The handle {@link keyvHandle} returns. */
export type KeyvHandle = ReturnType<typeof keyvHandle>
