import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
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

/**
 * The ABA sequence of issue 17: `updater` reads `k` (value 1) and holds its update function
 * while `other` removes the key and adds 5. The compare-and-set prepared against the old
 * item must not match the new one (before the fix both had version 1, and the add was
 * lost as 101): it conflicts, the update runs again on 5, and the result is 105.
 */
async function removeAndReAddDuringUpdate(updater: CacheManager<number>, other: CacheManager<number>) {
  const k = randomKey('k')
  await updater.set(k, 1)
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let read!: () => void
  const hasRead = new Promise<void>((resolve) => {
    read = resolve
  })
  const pending = updater.update(k, async (v) => {
    read()
    await gate
    return v + 100
  })
  await hasRead
  await other.remove(k)
  expect(await other.add(k, 5)).toBe(true)
  release()
  const result = await pending
  await waitFor(async () => (await other.get(k)) === result, {
    message: `${k} = ${result} on the other instance`,
  })
  return result
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
