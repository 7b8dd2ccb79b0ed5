import type { CacheManager } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { type Instance, startInstance } from './manager-fixture.js'
import { topologies } from './topologies.js'

/**
 * The ABA sequence of issue 17: `updater` reads `k` (value 1) and holds its update function
 * while `other` removes the key and adds 5. The compare-and-set prepared against the old
 * item must not match the new one (before the fix both had version 1, and the add was
 * lost as 101): it conflicts, the update runs again on 5, and the result is 105.
 */
async function removeAndReAddDuringUpdate(
  updater: CacheManager<unknown>,
  other: CacheManager<unknown>,
): Promise<number> {
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
    return (v as number) + 100
  })
  await hasRead
  await other.remove(k)
  expect(await other.add(k, 5)).toBe(true)
  release()
  const result = (await pending) as number
  // The other instance hears the update on the backplane and reads it from Redis.
  await waitFor(async () => (await other.get(k)) === result, {
    message: `${k} = ${result} on the other instance`,
  })
  return result
}

describe.each(topologies)('update against remove + add on $name Redis', (topology) => {
  const instances: Instance[] = []
  afterEach(async () => {
    await Promise.all(instances.splice(0).map(({ cache }) => cache.close()))
  })
  const start = async (name: string) => {
    const instance = await startInstance(topology.options(), name)
    instances.push(instance)
    return instance.cache
  }

  it('one instance: the update retries on the new item and returns 105', async () => {
    const cache = await start(randomKey('cache'))
    expect(await removeAndReAddDuringUpdate(cache, cache)).toBe(105)
  })

  it("two instances: the remove + add of one is not lost to the other one's update", async () => {
    const name = randomKey('cache')
    const [a, b] = [await start(name), await start(name)]
    expect(await removeAndReAddDuringUpdate(a, b)).toBe(105)
    expect(await removeAndReAddDuringUpdate(b, a)).toBe(105)
  })
})
