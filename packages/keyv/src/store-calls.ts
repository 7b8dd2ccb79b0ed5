/**
 * How the Keyv handle reaches its store: the calls it makes on any Keyv storage adapter
 * (or a `Map`), each awaited, since a Map answers synchronously and adapters differ in
 * what they return.
 */
import type { ExpirationMode } from '@cacheplane/core'
import type { KeyvStorage } from './keyv-handle-options.js'

/** The store's calls, as the handle uses them. */
export interface StoreCalls {
  get(key: string): Promise<unknown>
  set(key: string, value: string, ttl: number | undefined): Promise<void>
  /** True when the key was there. */
  delete(key: string): Promise<boolean>
  getMany(keys: string[]): Promise<unknown[]>
}

/** The handle's view of `store`; `getMany` is the adapter's own when it has one. */
export function storeCalls(store: KeyvStorage): StoreCalls {
  const getMany = (store as { getMany?: (keys: string[]) => Promise<unknown[]> }).getMany
  return {
    get: async (key) => store.get(key),
    set: async (key, value, ttl) => {
      await store.set(key, value, ttl)
    },
    delete: async (key) => (await store.delete(key)) === true,
    getMany:
      getMany === undefined
        ? (keys) => Promise.all(keys.map(async (key) => store.get(key)))
        : (keys) => getMany.call(store, keys),
  }
}

/** The store's TTL for an item, ms: the remaining lifetime, or undefined for none (it only frees space). */
export function storeTtl(item: { mode: ExpirationMode; expiresAt: number }, now: number): number | undefined {
  if (item.mode === 'none' || item.expiresAt === 0) return undefined
  return Math.max(1, Math.ceil(item.expiresAt - now))
}
