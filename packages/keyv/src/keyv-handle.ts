import { type CacheHandle, GenerationBinding } from '@cacheplane/core'
import { type KeyvBulkStore, keyvBulk } from './bulk.js'
import { bindCache } from './generations.js'
import { itemKey, type KeyvContext } from './handle-context.js'
import { KeyLock } from './key-lock.js'
import { type KeyvHandleOptions, resolveKeyvOptions } from './keyv-handle-options.js'
import { get, getMany, peek } from './reads.js'
import { storeCalls, storeTtl } from './store-calls.js'
import { add, expire, remove, set, update } from './writes.js'

/**
 * A cacheplane layer on any Keyv storage adapter (PostgreSQL, MongoDB, MySQL, SQLite,
 * DynamoDB, etcd, ... or a `Map`): a bytes handle, distributed when the store is shared.
 *
 * Items are core's envelope in base64 under `<prefix><cache>:<generation>:<region>:<key>`;
 * clears write a new generation token (generations.ts). Keyv has no conditional write, so
 * the handle declares no `cas` and no `sliding` (see `keyvCapabilities`); `add` and
 * `expire` read then write (writes.ts).
 */
export function keyvHandle(options: KeyvHandleOptions) {
  const resolved = resolveKeyvOptions(options)
  const { name, capabilities } = resolved
  const context: KeyvContext = {
    name,
    calls: storeCalls(resolved.store),
    lock: new KeyLock(),
    cache: new GenerationBinding(`keyv handle '${name}'`, name, resolved.generationRefreshMs),
    prefix: resolved.prefix,
    maxKeyBytes: resolved.maxKeyBytes,
    generationRefreshMs: resolved.generationRefreshMs,
  }
  return {
    name,
    capabilities,
    get: (key, region) => get(context, key, region),
    peek: (key, region) => peek(context, key, region),
    getMany: (keys, region) => getMany(context, keys, region),
    add: (key, region, item) => add(context, key, region, item),
    set: (key, region, item) => set(context, key, region, item),
    // The adapter's setMany / deleteMany under every key's lock, when it has them (bulk.ts).
    ...keyvBulk({
      store: resolved.store as KeyvBulkStore,
      lock: context.lock,
      itemKey: (key, region) => itemKey(context, key, region),
      storeTtl,
    }),
    update: (_key, _region, _expectedVersion, _item) => update(context),
    remove: (key, region) => remove(context, key, region),
    expire: (key, region, mode, ttl, expiresAt) => expire(context, key, region, { mode, ttl, expiresAt }),
    clear: () => context.cache.clear(),
    clearRegion: (region) => context.cache.clearRegion(region),
    onRemoteClear: (region) => context.cache.onRemoteClear(region),
    /** A generation token found changed without `onRemoteClear` (swept every `generationRefreshMs`). */
    onExternalClear: (listener) => context.cache.onExternalClear(listener),
    bind: (cacheName) => context.cache.bind(cacheName, (cache) => bindCache(context, cache)),
    close() {
      // The store was given to the handle: disconnecting it is the application's call.
      context.cache.close()
    },
  } satisfies CacheHandle<Uint8Array>
}

/** The handle {@link keyvHandle} returns. */
export type KeyvHandle = ReturnType<typeof keyvHandle>
