// Several caches on one redisBackplane: one subscriber connection whatever the number of
// caches (one per owning master with sharded pub/sub), each cache hearing its own channel,
// every cache hearing the gap when that connection is killed.
import { CacheManager, type CacheHandle } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { redisBackplane, redisHandle } from '../src/index.js'
import { closeAll, mastersOf, type Topology, topologies } from './topologies.js'

/** Pub/sub connections the masters of `topology` see from clients named `name`. */
async function subscriberConnections(topology: Topology, name: string): Promise<number> {
  const admin = topology.connect()
  try {
    const lists = await Promise.all(
      (await mastersOf(admin)).map(
        (node) => node.call('CLIENT', 'LIST', 'TYPE', 'pubsub') as Promise<string>,
      ),
    )
    return lists.flatMap((list) => list.split('\n')).filter((line) => line.includes(` name=${name} `)).length
  } finally {
    await closeAll([admin])
  }
}

describe.each(topologies)('one redisBackplane shared by several caches on $name Redis', (topology) => {
  const caches: CacheManager<unknown>[] = []
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()))
  })

  /** An application instance: `names.length` caches on one backplane whose connections are named `tag`. */
  function instance(names: readonly string[], tag: string): CacheManager<unknown>[] {
    const base = topology.options()
    const named =
      base.url !== undefined
        ? { redis: { ...parseUrl(base.url), connectionName: tag } }
        : { cluster: base.cluster, clusterOptions: { redisOptions: { connectionName: tag } } }
    const backplane = redisBackplane(named)
    const made = names.map(
      (name) =>
        new CacheManager<unknown>({
          name,
          handles: [memoryHandle(), redisHandle(topology.options()) as CacheHandle<unknown>],
          backplane,
        }),
    )
    caches.push(...made)
    return made
  }

  it('routes each change to its own cache in the other instance, over one subscriber connection', async () => {
    const names = [randomKey('users'), randomKey('products'), randomKey('sessions')]
    const [tagA, tagB] = [randomKey('a'), randomKey('b')]
    const a = instance(names, tagA)
    const b = instance(names, tagB)
    await Promise.all([...a, ...b].map((cache) => cache.ready()))
    const heard: string[][] = b.map(() => [])
    for (const [i, cache] of b.entries())
      cache.on('set', (event) => {
        if (event.origin === 'remote') heard[i]?.push(event.key)
      })
    for (const [i, cache] of b.entries()) await cache.set('k', `old ${i}`)
    for (const [i, writer] of a.entries()) await writer.set('k', `new ${i}`)
    await waitFor(() => heard.every((keys) => keys.length === 1), {
      message: 'every cache of the other instance to hear its own change',
    })
    expect(await Promise.all(b.map((cache) => cache.get('k')))).toEqual(['new 0', 'new 1', 'new 2'])
    // Plain pub/sub: one connection for all channels; sharded: at most one per master.
    const connections = await subscriberConnections(topology, tagB)
    if (topology.name === 'standalone') expect(connections).toBe(1)
    else expect(connections).toBeLessThanOrEqual(3)
    expect(await subscriberConnections(topology, tagA)).toBe(connections)
  })

  it('closing one cache leaves the others subscribed; the last one closes the subscriber connection', async () => {
    const names = [randomKey('users'), randomKey('products')]
    const tagB = randomKey('b')
    const [writerUsers, writerProducts] = instance(names, randomKey('a')) as [
      CacheManager<unknown>,
      CacheManager<unknown>,
    ]
    const [users, products] = instance(names, tagB) as [CacheManager<unknown>, CacheManager<unknown>]
    await Promise.all([writerUsers, writerProducts, users, products].map((cache) => cache.ready()))
    await users.close()
    const heard: string[] = []
    products.on('set', (event) => {
      if (event.origin === 'remote') heard.push(event.key)
    })
    await writerProducts.set('p', 1)
    await waitFor(() => heard.includes('p'), { message: 'the cache left open to hear a change' })
    await products.close()
    await waitFor(async () => (await subscriberConnections(topology, tagB)) === 0, {
      message: 'the subscriber connection to close with the last cache',
    })
  })

  it('a killed subscriber connection is a gap for every cache on it', async () => {
    const names = [randomKey('users'), randomKey('products'), randomKey('sessions')]
    const tag = randomKey('b')
    const shared = instance(names, tag)
    await Promise.all(shared.map((cache) => cache.ready()))
    const gaps = new Set<string>()
    for (const cache of shared)
      cache.on('backplane', (event) => {
        if (event.type === 'gap') gaps.add(cache.name)
      })
    const admin = topology.connect()
    try {
      for (const node of await mastersOf(admin)) await node.client('KILL', 'TYPE', 'pubsub')
    } finally {
      await closeAll([admin])
    }
    await waitFor(() => gaps.size === 3, { timeoutMs: 10_000, message: 'a gap in every cache' })
  })
})

function parseUrl(url: string): { host: string; port: number } {
  const parsed = new URL(url)
  return { host: parsed.hostname, port: Number(parsed.port) }
}
