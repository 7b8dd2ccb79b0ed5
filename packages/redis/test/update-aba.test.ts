import { randomKey, removeAndReAddDuringUpdate } from '@cacheplane/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { type Instance, startInstance } from './manager-fixture.js'
import { topologies } from './topologies.js'

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
