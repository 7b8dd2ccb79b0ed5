import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { randomKey, removeAndReAddDuringUpdate } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, expect, it } from 'vitest'
import { memcachedHandle } from '../src/index.js'
import { memcachedServers } from './helpers.js'

const open: CacheManager<number>[] = []
afterEach(async () => {
  for (const cache of open.splice(0)) await cache.close()
})

/** An instance: memory over its own Memcached handle, on a backplane shared through `hub`. */
function instance(name: string, hub: ReturnType<typeof createBackplaneHub>): CacheManager<number> {
  const cache = new CacheManager<number>({
    name,
    handles: [memoryHandle(), memcachedHandle({ servers: memcachedServers() })],
    backplane: memoryBackplane({ hub }),
  })
  open.push(cache)
  return cache
}

it('one instance: the update retries on the new item and returns 105', async () => {
  const cache = instance(randomKey('cache'), createBackplaneHub())
  expect(await removeAndReAddDuringUpdate(cache, cache)).toBe(105)
})

it("two instances: the remove + add of one is not lost to the other one's update", async () => {
  const [name, hub] = [randomKey('cache'), createBackplaneHub()]
  const [a, b] = [instance(name, hub), instance(name, hub)]
  expect(await removeAndReAddDuringUpdate(a, b)).toBe(105)
  expect(await removeAndReAddDuringUpdate(b, a)).toBe(105)
})
