/**
 * The Keyv handle's bulk writes (`setMany`, `removeMany`), present only when the storage
 * adapter has the matching bulk call (`setMany`, `deleteMany`): for an adapter without
 * them, core's per-key fallback is exactly what the handle would do. `getMany` stays in
 * the handle: it already uses the adapter's `getMany` when there is one.
 *
 * A bulk write holds the per-key lock (`key-lock.ts`) of every key it writes, as `set` and
 * `remove` hold theirs, so an `add` or `expire` of this process (read, then write) cannot
 * be undone halfway by it. All the keys enter their queues in one synchronous step, so
 * two bulk writes sharing keys never wait on each other in a cycle.
 */
import { type BulkEntry, type CacheHandle, type ItemInput, newVersion } from '@cacheplane/core'
import { encodeItem } from './item-text.js'
import type { KeyLock } from './key-lock.js'

/** The bulk calls a Keyv storage adapter may have. */
export interface KeyvBulkStore {
  setMany?(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<unknown>
  deleteMany?(keys: string[]): Promise<unknown>
  getMany?(keys: string[]): Promise<unknown[]>
}

/** What the bulk methods need from the handle they extend. */
export interface KeyvBulkContext {
  readonly store: KeyvBulkStore
  readonly lock: KeyLock
  /** The store key of an item (a promise only while a generation token must be read). */
  itemKey(key: string, region: string | undefined): string | Promise<string>
  /** The store's TTL for an item, ms, or undefined for none. */
  storeTtl(item: ItemInput<Uint8Array>, now: number): number | undefined
}

type Bulk = Partial<Pick<CacheHandle<Uint8Array>, 'setMany' | 'removeMany'>>

/** `setMany` and `removeMany` for a Keyv handle, each only when the adapter has its bulk call. */
export function keyvBulk(ctx: KeyvBulkContext): Bulk {
  const { store, lock } = ctx
  const bulk: Bulk = {}
  const setMany = store.setMany
  if (typeof setMany === 'function') {
    bulk.setMany = async (entries: ReadonlyArray<BulkEntry<Uint8Array>>, region) => {
      const storeKeys = await Promise.all(entries.map(({ key }) => ctx.itemKey(key, region)))
      const now = Date.now()
      const versions = entries.map(({ item }) => item.version ?? newVersion())
      const values = entries.map(({ item }, i) => {
        const ttl = ctx.storeTtl(item, now)
        const value = encodeItem(item, versions[i]!)
        return ttl === undefined ? { key: storeKeys[i]!, value } : { key: storeKeys[i]!, value, ttl }
      })
      await holdingAll(lock, storeKeys, () => setMany.call(store, values))
      return versions
    }
  }
  const deleteMany = store.deleteMany
  const getMany = store.getMany
  if (typeof deleteMany === 'function' && typeof getMany === 'function') {
    // The adapter's deleteMany says only whether anything went: its getMany counts what existed.
    bulk.removeMany = async (keys, region) => {
      const storeKeys = await Promise.all(keys.map((key) => ctx.itemKey(key, region)))
      return holdingAll(lock, storeKeys, async () => {
        const existing = await getMany.call(store, storeKeys)
        await deleteMany.call(store, storeKeys)
        return existing.filter((value) => value !== undefined && value !== null).length
      })
    }
  }
  return bulk
}

/** Runs `work` while holding the lock of every key in `keys` (entered all at once: no cycles). */
export function holdingAll<T>(lock: KeyLock, keys: readonly string[], work: () => Promise<T>): Promise<T> {
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  const entered = [...new Set(keys)].map(
    (key) =>
      new Promise<void>((resolve) => {
        void lock.run(key, () => {
          resolve()
          return released
        })
      }),
  )
  return Promise.all(entered)
    .then(work)
    .finally(() => release())
}
