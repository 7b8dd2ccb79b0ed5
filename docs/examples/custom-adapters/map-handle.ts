/**
 * A distributed cache handle over a shared key-value store that keeps bytes. A Map
 * stands in for the store here; a real adapter would call its client where this calls
 * `store.get`, `store.set` and `store.delete`. Core serializes values (`bytes: true`);
 * the handle keeps each item as one envelope blob under an unambiguous key.
 */
import {
  type CacheHandle,
  cacheKeyPrefix,
  decodeEnvelope,
  encodeEnvelope,
  InvalidOptionsError,
  type ItemInput,
  newVersion,
  regionKeyPrefix,
  type StoredItem,
  storeKey,
} from '@cacheplane/core'

/** Options of {@link mapHandle}. */
export interface MapHandleOptions {
  /** The shared store: handles given the same map see the same items. */
  readonly store: Map<string, Uint8Array>
  /** Handle name in stats, events and errors; default `'map'`. */
  readonly name?: string
  /** Prefix of every key; default `'cacheplane:'`. */
  readonly prefix?: string
}

/** Creates a handle over `options.store`. */
export function mapHandle(options: MapHandleOptions) {
  const { store, name = 'map', prefix = 'cacheplane:' } = options
  let cacheName: string | undefined

  const bound = (): string => {
    if (cacheName === undefined) throw new Error(`mapHandle '${name}' was used before bind()`)
    return cacheName
  }
  const keyOf = (key: string, region: string | undefined) =>
    storeKey(cacheKeyPrefix(prefix, bound()), region, key)
  // A decodeEnvelope failure is an ItemCorruptError: core turns it into a miss plus an event.
  const read = (full: string): StoredItem<Uint8Array> | undefined => {
    const bytes = store.get(full)
    if (bytes === undefined) return undefined
    const item = decodeEnvelope(bytes)
    if (item.expiresAt === 0 || item.expiresAt > Date.now()) return item
    store.delete(full)
    return undefined
  }
  // Every write stores the item's own version (a copy) or a new one: never a counter that
  // restarts with the item, or an update prepared against a removed item would match its successor.
  const write = (full: string, item: ItemInput<Uint8Array>, version = item.version ?? newVersion()) => {
    store.set(full, encodeEnvelope({ ...item, version }))
    return version
  }
  const deletePrefix = (start: string): void => {
    for (const key of store.keys()) if (key.startsWith(start)) store.delete(key)
  }

  return {
    name,
    capabilities: {
      distributed: true, // shared by every instance: remote messages never evict from it
      bytes: true,
      cas: true, // atomic here: nothing else runs between read and write
      sliding: false, // core stores sliding items as absolute
      maxTtlMs: Number.POSITIVE_INFINITY,
      ttlGranularityMs: 1,
      clearRegion: 'scan',
      synchronous: true, // every member returns a value, never a promise
    },
    bind(name: string) {
      if (cacheName !== undefined && cacheName !== name) {
        throw new InvalidOptionsError(`mapHandle is bound to cache '${cacheName}', not '${name}'`)
      }
      cacheName = name
    },
    get: (key, region) => read(keyOf(key, region)),
    add(key, region, item) {
      const full = keyOf(key, region)
      if (read(full) !== undefined) return false
      write(full, item)
      return true
    },
    set: (key, region, item) => write(keyOf(key, region), item),
    update(key, region, expectedVersion, item) {
      const full = keyOf(key, region)
      const current = read(full)
      if (current === undefined) return { status: 'missing' }
      if (current.version !== expectedVersion) return { status: 'conflict' }
      return { status: 'ok', version: write(full, item) }
    },
    remove(key, region) {
      const full = keyOf(key, region)
      const existed = read(full) !== undefined
      store.delete(full)
      return existed
    },
    expire(key, region, mode, ttl, expiresAt) {
      const full = keyOf(key, region)
      const current = read(full)
      if (current === undefined) return false
      // A write: a new version, so an update prepared before it cannot put the old lifetime back.
      write(full, { ...current, mode, ttl, expiresAt }, newVersion())
      return true
    },
    clear: () => deletePrefix(cacheKeyPrefix(prefix, bound())),
    clearRegion: (region) => deletePrefix(regionKeyPrefix(prefix, bound(), region)),
    close() {}, // the store was given to us: never close it
  } satisfies CacheHandle<Uint8Array>
}
