/**
 * cache-manager 7 in a worker: `createCache` over a Keyv whose store is `keyvStore(manager)`, on
 * the worker's own `CacheManager`, so a scenario drives cache-manager's API in several processes
 * and checks that cacheplane keeps them in sync underneath.
 */
import type { CacheManager } from '@cacheplane/core'
import { keyvStore } from '@cacheplane/keyv'
import { type Cache, createCache } from 'cache-manager'
import Keyv from 'keyv'
import type { Value } from './protocol.js'

/** One cache-manager call; TTLs in ms as cache-manager takes them. Plain data: it crosses IPC. */
export type CacheManagerCall =
  | { readonly fn: 'get'; readonly key: string }
  | { readonly fn: 'set'; readonly key: string; readonly value: Value; readonly ttl?: number }
  | { readonly fn: 'del'; readonly key: string }
  | { readonly fn: 'clear' }
  | { readonly fn: 'ttl'; readonly key: string }
  /** `wrap` whose function returns `value`; the result says whether the function ran. */
  | { readonly fn: 'wrap'; readonly key: string; readonly value: Value; readonly ttl?: number }

let wrapped: { manager: CacheManager<Value>; cache: Cache } | undefined

function cacheOf(manager: CacheManager<Value>): Cache {
  if (wrapped?.manager !== manager) {
    wrapped = { manager, cache: createCache({ stores: [new Keyv({ store: keyvStore(manager) })] }) }
  }
  return wrapped.cache
}

/** Runs one call through cache-manager on `manager`; undefined results become null (IPC). */
export async function runCacheManagerCall(
  manager: CacheManager<Value>,
  call: CacheManagerCall,
): Promise<unknown> {
  const cache = cacheOf(manager)
  switch (call.fn) {
    case 'get':
      return (await cache.get<Value>(call.key)) ?? null
    case 'set':
      await cache.set(call.key, call.value, call.ttl)
      return Date.now()
    case 'del':
      return cache.del(call.key)
    case 'clear':
      return cache.clear()
    case 'ttl':
      return (await cache.ttl(call.key)) ?? null
    case 'wrap': {
      let ran = false
      const value = await cache.wrap(
        call.key,
        () => {
          ran = true
          return call.value
        },
        call.ttl,
      )
      return { value, ran }
    }
  }
}
