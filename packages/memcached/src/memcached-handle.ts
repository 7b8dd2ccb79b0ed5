import {
  type CacheHandle,
  ClosedError,
  type HandleCapabilities,
  InvalidOptionsError,
  type ItemInput,
  newVersion,
  type StoredItem,
  type UpdateOutcome,
  ValueTooLargeError,
} from '@cacheplane/core'
import {
  type CasToken,
  getWithCas,
  increment,
  isTooLarge,
  remove,
  type StoreResult,
  store,
  touch,
} from './binary-protocol.js'
import { memcachedBulk } from './bulk.js'
import { Connection } from './connection.js'
import { maxTtlMs, memcachedExptime } from './expiration-time.js'
import { ExternalClears } from './external-clears.js'
import { Generations } from './generations.js'
import { isLive, ItemBytes } from './item-bytes.js'
import { KeyLayout } from './key-layout.js'
import { type MemcachedHandleOptions, resolveMemcachedOptions } from './memcached-options.js'

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
}

// Compare-and-set loops inside one handle call (add, expire) give up after this many
// lost races; `update` makes one attempt and reports a conflict (core retries it). With w
// writers racing on one key a writer loses a round with probability about (w-1)/w, so
// the bound is generous: losing 64 rounds in a row does not happen in practice.
const maxCasAttempts = 64

/**
 * A cache handle on Memcached (one server or several; memjs spreads keys over them).
 *
 * Items are one blob each (core's envelope: value bytes, expiration, created, version)
 * under keys scoped by generation counters, so `clear()`/`clearRegion()` are one
 * increment and never `flush_all`. `update` is gets + compare version + CAS; `set` is one
 * plain set. Every write takes a version the writer draws (`newVersion`), so a key removed
 * and added again never gets a version it had. Memcached's own CAS token is not the
 * version: it counts per server (it restarts with the server, and differs after keys move
 * to another server), it is 64-bit, and a copy must keep its source's version.
 */
export function memcachedHandle(options: MemcachedHandleOptions) {
  const { client, ownsClient, prefix, name, generationRefreshMs, maxValueBytes, deadlineMs } =
    resolveMemcachedOptions(options)
  const connection = new Connection(client, deadlineMs)
  const bytes = new ItemBytes(name, maxValueBytes)
  let scope: { layout: KeyLayout; generations: Generations } | undefined
  let boundTo: string | undefined
  let closed = false
  const externalClears = new ExternalClears(generationRefreshMs)

  const counters = {
    increment: (key: string, delta: number, initial: number) => increment(connection, key, delta, initial),
  }

  function bound(): { layout: KeyLayout; generations: Generations } {
    // memjs would quietly reconnect a closed client on the next request.
    if (closed) throw new ClosedError(`memcached handle '${name}' is closed`, { source: name })
    if (scope === undefined) {
      throw new InvalidOptionsError(
        `memcached handle '${name}' is not bound to a cache: give it to a CacheManager (which calls bind(cacheName))`,
        { source: name },
      )
    }
    return scope
  }

  /**
   * The Memcached key of an item: a string at once while the generations it needs are known
   * and fresh (nearly every call), a promise only when one must be read first. Awaiting even
   * a plain value costs every read an extra microtask turn; callers await only promises.
   */
  function itemKey(key: string, region: string | undefined): string | Promise<string> {
    const { layout, generations } = bound()
    const cacheGeneration = generations.cache()
    if (region === undefined) {
      return typeof cacheGeneration === 'number'
        ? layout.itemKeyAt(cacheGeneration, undefined, undefined, key)
        : cacheGeneration.then((generation) => layout.itemKeyAt(generation, undefined, undefined, key))
    }
    const regionGeneration = generations.region(region)
    if (typeof cacheGeneration === 'number' && typeof regionGeneration === 'number') {
      return layout.itemKeyAt(cacheGeneration, regionGeneration, region, key)
    }
    return Promise.all([cacheGeneration, regionGeneration]).then(([cacheAt, regionAt]) =>
      layout.itemKeyAt(cacheAt, regionAt, region, key),
    )
  }

  async function write(
    mode: 'set' | 'add',
    key: string,
    value: Uint8Array,
    exptime: number,
    cas?: CasToken,
  ): Promise<StoreResult> {
    try {
      return await store(connection, mode, key, value, exptime, cas)
    } catch (error) {
      if (!isTooLarge(error)) throw error
      throw new ValueTooLargeError(`Memcached refused an item of ${value.byteLength} bytes as too large`, {
        cause: error,
        source: name,
      })
    }
  }

  /** The live item under `storeKey`; corrupt bytes are dropped (CAS) and reported by throwing. */
  async function readItem(storeKey: string): Promise<StoredItem<Uint8Array> | undefined> {
    const current = await getWithCas(connection, storeKey)
    if (current === undefined) return undefined
    let item: StoredItem<Uint8Array>
    try {
      item = bytes.decode(current.value)
    } catch (error) {
      // Useless bytes: drop them unless someone rewrote the key meanwhile (CAS), then report.
      try {
        await remove(connection, storeKey, current.cas)
      } catch {
        // Best effort: the read reports the corrupt item either way.
      }
      throw error
    }
    return isLive(item, Date.now()) ? item : undefined
  }

  function exptimeOf(item: ItemInput<Uint8Array>): number {
    // An item with grace is kept (and returned) until expiresAt + grace.
    return memcachedExptime(item.mode, item.expiresAt + (item.grace ?? 0), Date.now())
  }

  return {
    name,
    capabilities: memcachedCapabilities,

    async get(key, region) {
      const pendingKey = itemKey(key, region)
      const storeKey = typeof pendingKey === 'string' ? pendingKey : await pendingKey
      const item = await readItem(storeKey)
      if (item === undefined || item.mode !== 'sliding') return item
      // A hit extends a sliding item; the envelope keeps its old expiresAt, so report the new one.
      const now = Date.now()
      const expiresAt = now + item.ttl
      await touch(connection, storeKey, memcachedExptime('sliding', expiresAt, now))
      return { ...item, expiresAt }
    },

    /**
     * A get without the touch and without dropping corrupt bytes (they throw ItemCorruptError).
     * A sliding item's expiresAt is the one last written: touches extend it in Memcached only.
     */
    async peek(key, region) {
      const current = await getWithCas(connection, await itemKey(key, region))
      if (current === undefined) return undefined
      const item = bytes.decode(current.value)
      return isLive(item, Date.now()) ? item : undefined
    },

    // GETKQ/NOOP multi-get, writes and deletes in one corked turn (bulk.ts).
    ...memcachedBulk({ connection, bytes, itemKey, write, exptimeOf }),

    async add(key, region, item) {
      const storeKey = await itemKey(key, region)
      const exptime = exptimeOf(item)
      const fresh = bytes.encode(item, item.version ?? newVersion())
      for (let attempt = 0; attempt < maxCasAttempts; attempt++) {
        if ((await write('add', storeKey, fresh, exptime)) === 'stored') return true
        // Memcached keeps items up to ~2 s past their expiresAt (seconds granularity):
        // such an item, or a corrupt one, counts as absent and is replaced through CAS.
        const current = await getWithCas(connection, storeKey)
        if (current === undefined) continue
        const existing = bytes.tryDecode(current.value)
        if (existing !== undefined && isLive(existing, Date.now())) return false
        if ((await write('set', storeKey, fresh, exptime, current.cas)) === 'stored') return true
      }
      // Other writers kept getting there first: the key is taken.
      return false
    },

    async set(key, region, item) {
      const storeKey = await itemKey(key, region)
      const version = item.version ?? newVersion()
      await write('set', storeKey, bytes.encode(item, version), exptimeOf(item))
      return version
    },

    async update(key, region, expectedVersion, item): Promise<UpdateOutcome> {
      const storeKey = await itemKey(key, region)
      const current = await getWithCas(connection, storeKey)
      if (current === undefined) return { status: 'missing' }
      const existing = bytes.tryDecode(current.value)
      if (existing === undefined || !isLive(existing, Date.now())) return { status: 'missing' }
      if (existing.version !== expectedVersion) return { status: 'conflict' }
      const version = item.version ?? newVersion()
      const result = await write('set', storeKey, bytes.encode(item, version), exptimeOf(item), current.cas)
      if (result === 'stored') return { status: 'ok', version }
      return { status: result === 'missing' ? 'missing' : 'conflict' }
    },

    async remove(key, region) {
      return remove(connection, await itemKey(key, region))
    },

    async expire(key, region, mode, ttl, expiresAt) {
      const storeKey = await itemKey(key, region)
      for (let attempt = 0; attempt < maxCasAttempts; attempt++) {
        const current = await getWithCas(connection, storeKey)
        if (current === undefined) return false
        const existing = bytes.tryDecode(current.value)
        if (existing === undefined || !isLive(existing, Date.now())) return false
        const next = { value: existing.value, mode, ttl, expiresAt, created: existing.created }
        const exptime = memcachedExptime(mode, expiresAt, Date.now())
        // A write for versions: an update prepared before it must not write the old lifetime back.
        const result = await write('set', storeKey, bytes.encode(next, newVersion()), exptime, current.cas)
        if (result !== 'exists') return result === 'stored'
      }
      throw new Error(`memcached expire '${storeKey}': the item changed during ${maxCasAttempts} attempts`)
    },

    async touch(key, region) {
      const storeKey = await itemKey(key, region)
      const current = await getWithCas(connection, storeKey)
      if (current === undefined) return false
      const existing = bytes.tryDecode(current.value)
      const now = Date.now()
      if (existing === undefined || !isLive(existing, now)) return false
      if (existing.mode !== 'sliding') return true
      return touch(connection, storeKey, memcachedExptime('sliding', now + existing.ttl, now))
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

    /** A generation counter found grown without `onRemoteClear` (refreshed every `generationRefreshMs`). */
    onExternalClear(listener) {
      return externalClears.listen(listener)
    },

    bind(cacheName) {
      // Two managers of the same cache may share the handle (same keys); another cache may not.
      if (scope !== undefined) {
        if (cacheName === boundTo) return
        throw new InvalidOptionsError(
          `memcached handle '${name}' is already used by cache '${boundTo}'; give each cache its own handle`,
          { source: name },
        )
      }
      const layout = new KeyLayout(prefix, cacheName)
      const generations = new Generations(
        counters,
        layout.cacheGenerationKey,
        (region) => layout.regionGenerationKey(region),
        generationRefreshMs,
        externalClears.report,
      )
      scope = { layout, generations }
      boundTo = cacheName
      externalClears.watch(generations)
    },

    close() {
      if (closed) return
      closed = true
      externalClears.close()
      // A client the application gave us is the application's to close.
      if (ownsClient) client.close()
    },
  } satisfies CacheHandle<Uint8Array>
}

/** The handle {@link memcachedHandle} returns. */
export type MemcachedHandle = ReturnType<typeof memcachedHandle>
