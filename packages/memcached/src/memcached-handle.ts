import { type CacheHandle, type HandleCapabilities, GenerationBinding } from '@cacheplane/core'
import { everyServerAnswered, memcachedBulk } from './bulk.js'
import { Connection } from './connection.js'
import { maxTtlMs } from './expiration-time.js'
import { bindCache } from './generations.js'
import { itemKey, type MemcachedContext } from './handle-context.js'
import { ItemBytes } from './item-bytes.js'
import { memcachedLock } from './memcached-lock.js'
import { type MemcachedHandleOptions, resolveMemcachedOptions } from './memcached-options.js'
import { get, peek } from './reads.js'
import { add, expire, exptimeOf, remove, set, touch, update, write } from './writes.js'

/** What the Memcached handle can do. */
export const memcachedCapabilities: HandleCapabilities = {
  distributed: true,
  bytes: true,
  cas: true,
  sliding: true,
  maxTtlMs,
  ttlGranularityMs: 1000,
  clearRegion: 'generation',
  synchronous: false,
  grace: true,
  // Every write copies its bytes into an envelope (item-bytes.ts) and keeps nothing.
  copiesBytes: true,
}

/**
 * A cache handle on Memcached (one server or several; memjs spreads keys over them).
 *
 * Items are one blob each (core's envelope: value bytes, expiration, created, version)
 * under keys scoped by generation counters, so `clear()`/`clearRegion()` are one
 * increment and never `flush_all` (generations.ts). Reads are in reads.ts, writes in
 * writes.ts. Memcached's own CAS token is not the item's version: it counts per server (it
 * restarts with the server, and differs after keys move to another server), it is 64-bit,
 * and a copy must keep its source's version; writers draw versions (`newVersion`).
 */
export function memcachedHandle(options: MemcachedHandleOptions) {
  const resolved = resolveMemcachedOptions(options)
  const { client, ownsClient, name } = resolved
  const context: MemcachedContext = {
    name,
    connection: new Connection(client, resolved.deadlineMs),
    bytes: new ItemBytes(name, resolved.maxValueBytes),
    cache: new GenerationBinding(`memcached handle '${name}'`, name, resolved.generationRefreshMs),
    prefix: resolved.prefix,
    generationRefreshMs: resolved.generationRefreshMs,
  }
  return {
    name,
    capabilities: memcachedCapabilities,
    lock: memcachedLock(context.connection, context.prefix, () => context.cache.scope().cacheName),
    get: (key, region) => get(context, key, region),
    peek: (key, region) => peek(context, key, region),
    // GETKQ/NOOP multi-get, writes and deletes in one corked turn (bulk.ts).
    ...memcachedBulk({
      connection: context.connection,
      bytes: context.bytes,
      itemKey: (key, region) => itemKey(context, key, region),
      write: (mode, key, value, exptime) => write(context, mode, key, value, exptime),
      exptimeOf,
    }),
    add: (key, region, item) => add(context, key, region, item),
    set: (key, region, item) => set(context, key, region, item),
    update: (key, region, expectedVersion, item) => update(context, key, region, expectedVersion, item),
    remove: (key, region) => remove(context, key, region),
    expire: (key, region, mode, ttl, expiresAt) => expire(context, key, region, { mode, ttl, expiresAt }),
    touch: (key, region) => touch(context, key, region),
    clear: () => context.cache.clear(),
    clearRegion: (region) => context.cache.clearRegion(region),
    onRemoteClear: (region) => context.cache.onRemoteClear(region),
    // A NOOP to every server: answered once every request sent to it before was.
    barrier: () => everyServerAnswered(context.connection),
    /** A generation counter found grown without `onRemoteClear` (swept every `generationRefreshMs`). */
    onExternalClear: (listener) => context.cache.onExternalClear(listener),
    bind: (cacheName) => context.cache.bind(cacheName, (cache) => bindCache(context, cache)),
    close() {
      if (!context.cache.close()) return
      // A client the application gave us is the application's to close.
      if (ownsClient) client.close()
    },
  } satisfies CacheHandle<Uint8Array>
}

/** The handle {@link memcachedHandle} returns. */
export type MemcachedHandle = ReturnType<typeof memcachedHandle>
