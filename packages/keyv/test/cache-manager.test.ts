import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { createCache } from 'cache-manager'
import Keyv from 'keyv'
import { afterEach, describe, expect, it } from 'vitest'
import { keyvHandle, keyvStore } from '../src/index.js'

// Two application instances in one process: each a cacheplane manager (memory over one shared
// store, an in-process backplane) with cache-manager on top through keyvStore. The two-process
// version against real servers is integration/test/keyv.test.ts.
const managers: CacheManager[] = []
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()))
})

function instances(namespace?: string) {
  const name = randomKey('cache')
  const hub = createBackplaneHub()
  const shared = keyvHandle({ store: new Map(), distributed: true })
  return [1, 2].map((i) => {
    const manager = new CacheManager({
      name,
      handles: [memoryHandle({ name: 'memory' }), shared],
      shared: [shared],
      backplane: memoryBackplane({ hub, name: `hub-${i}` }),
    })
    managers.push(manager)
    const keyv = new Keyv(
      namespace === undefined ? { store: keyvStore(manager) } : { store: keyvStore(manager), namespace },
    )
    return { manager, cache: createCache({ stores: [keyv] }) }
  }) as [
    { manager: CacheManager; cache: ReturnType<typeof createCache> },
    { manager: CacheManager; cache: ReturnType<typeof createCache> },
  ]
}

describe('cache-manager 7 over keyvStore', () => {
  it('a set on one instance is seen on the other once the change propagated', async () => {
    const [a, b] = instances()
    await a.cache.set('user:1', { name: 'Ada' })
    expect(await b.cache.get('user:1')).toEqual({ name: 'Ada' })
    // b now holds a copy in its memory layer: a's next write must evict it there.
    await a.cache.set('user:1', { name: 'Grace' })
    await waitFor(async () => (await b.cache.get<{ name: string }>('user:1'))?.name === 'Grace', {
      message: "b reads a's second write",
    })
  })

  it('del removes the key for both; mset/mget/mdel work across instances', async () => {
    const [a, b] = instances()
    await a.cache.set('k', 'v')
    expect(await b.cache.get('k')).toBe('v')
    expect(await a.cache.del('k')).toBe(true)
    await waitFor(async () => (await b.cache.get('k')) === undefined, { message: 'b misses after del' })
    await a.cache.mset([
      { key: 'x', value: 1 },
      { key: 'y', value: 2 },
    ])
    expect(await b.cache.mget(['x', 'y', 'z'])).toEqual([1, 2, undefined])
    await b.cache.mdel(['x', 'y'])
    await waitFor(async () => (await a.cache.mget(['x', 'y'])).every((v) => v === undefined), {
      message: 'a misses after mdel',
    })
  })

  it("clear empties the Keyv namespace (a region) on both instances and leaves other namespaces' keys", async () => {
    const [a, b] = instances('sessions')
    await a.cache.set('s1', 'one')
    expect(await b.cache.get('s1')).toBe('one')
    await a.manager.set('outside', 'kept')
    await a.cache.clear()
    await waitFor(async () => (await b.cache.get('s1')) === undefined, { message: 'b misses after clear' })
    expect(await b.manager.get('outside')).toBe('kept')
  })

  it('a TTL expires the value on both instances; ttl() reports the expiry', async () => {
    const [a, b] = instances()
    const before = Date.now()
    await a.cache.set('short', 'v', 200)
    expect(await b.cache.get('short')).toBe('v')
    // Keyv prefixes keys with its namespace, which is also the region.
    expect(await a.manager.has('keyv:short', { region: 'keyv' })).toBe(true)
    const expires = await a.cache.ttl('short')
    expect(expires).toBeGreaterThanOrEqual(before + 200)
    expect(expires).toBeLessThanOrEqual(Date.now() + 200)
    await waitFor(
      async () => (await a.cache.get('short')) === undefined && (await b.cache.get('short')) === undefined,
      {
        message: 'the value expires everywhere',
      },
    )
    expect(await a.manager.has('keyv:short', { region: 'keyv' })).toBe(false)
  })

  it('wrap calls the function once per key across instances and caches the result with its TTL', async () => {
    const [a, b] = instances()
    let calls = 0
    const load = async () => {
      calls++
      return { loaded: calls }
    }
    expect(await a.cache.wrap('w', load, 300)).toEqual({ loaded: 1 })
    expect(await a.cache.wrap('w', load, 300)).toEqual({ loaded: 1 })
    expect(await b.cache.wrap('w', load, 300)).toEqual({ loaded: 1 })
    expect(calls).toBe(1)
    await waitFor(async () => (await b.cache.get('w')) === undefined, {
      message: 'the wrapped value expires',
    })
    expect(await b.cache.wrap('w', load, 300)).toEqual({ loaded: 2 })
  })
})
