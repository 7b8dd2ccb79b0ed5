// The Redis handle's bulk methods (bulk.ts) and CacheManager's getMany/setMany/removeMany
// over memory + Redis, on standalone Redis and on the 3-master Cluster.
import { memoryHandle } from '@cacheplane/memory'
import {
  CacheManager,
  type CacheHandle,
  cacheKeyPrefix,
  type ItemInput,
  ItemCorruptError,
  storeKey,
} from '@cacheplane/core'
import { randomKey } from '@cacheplane/core/testing'
import { Cluster } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { CHUNK, groups } from '../src/bulk.js'
import { redisHandle } from '../src/index.js'
import { keySlot } from '../src/key-slot.js'
import type { RedisClient } from '../src/redis-connection.js'
import { closeAll, topologies } from './topologies.js'

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes)

function item(value: string, mode: ItemInput['mode'] = 'none', ttl = 0): ItemInput<Uint8Array> {
  const now = Date.now()
  return {
    value: new TextEncoder().encode(value),
    mode,
    ttl: mode === 'none' ? 0 : ttl,
    expiresAt: mode === 'none' ? 0 : now + ttl,
    created: now,
  }
}

describe('groups', () => {
  it('cuts a standalone batch into chunks and a Cluster batch by hash slot', () => {
    const keys = Array.from({ length: CHUNK + 5 }, (_, i) => `p:{t}:${i % 2 ? 'x' : 'y'}${i}`)
    expect(groups(keys, false).map((g) => g.length)).toEqual([CHUNK, 5])
    // One hash tag: one slot, still cut at CHUNK.
    expect(groups(keys, true).map((g) => g.length)).toEqual([CHUNK, 5])
    const spread = ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => `p:${k}`)
    for (const group of groups(spread, true)) {
      expect(new Set(group.map((i) => keySlot(spread[i]!))).size).toBe(1)
    }
    expect(groups(spread, true).flat().sort()).toEqual([0, 1, 2, 3, 4, 5])
  })
})

describe.each(topologies)('bulk methods on $name Redis', (topology) => {
  const clients: RedisClient[] = []
  const closers: Array<() => unknown> = []

  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()))
    await closeAll(clients.splice(0))
  })

  async function setup(cacheName = randomKey('bulk')) {
    const client = topology.connect()
    clients.push(client)
    const handle = redisHandle({ client })
    closers.push(() => handle.close())
    await handle.bind(cacheName)
    const keyOf = (key: string, region?: string) =>
      storeKey(cacheKeyPrefix('cacheplane:', cacheName), region, key)
    return { client, handle, keyOf, cacheName }
  }

  it('setMany then getMany round-trips many keys in order, across slots and chunks', async () => {
    const { handle } = await setup()
    const keys = Array.from({ length: CHUNK + 200 }, (_, i) => `k${i}`)
    const written = keys.filter((_, i) => i % 3 !== 0)
    const versions = await handle.setMany(
      written.map((key) => ({ key, item: item(key, 'absolute', 60_000) })),
      'r',
    )
    expect(versions).toHaveLength(written.length)
    expect(new Set(versions).size).toBe(written.length)
    const items = await handle.getMany(keys, 'r')
    expect(items.map((read) => text(read?.value))).toEqual(
      keys.map((key, i) => (i % 3 === 0 ? undefined : key)),
    )
    expect(items[1]).toMatchObject({ mode: 'absolute', ttl: 60_000, version: versions[0] })
    expect(await handle.getMany([], 'r')).toEqual([])
  })

  it('removeMany unlinks the keys and counts the ones that existed', async () => {
    const { handle } = await setup()
    await handle.setMany(
      ['a', 'b', 'c'].map((key) => ({ key, item: item(key) })),
      undefined,
    )
    expect(await handle.removeMany(['a', 'c', 'zz'], undefined)).toBe(2)
    expect((await handle.getMany(['a', 'b', 'c'], undefined)).map((read) => text(read?.value))).toEqual([
      undefined,
      'b',
      undefined,
    ])
  })

  it('getMany extends sliding items as get does', async () => {
    const { client, handle, keyOf } = await setup()
    await handle.setMany([{ key: 's', item: item('s', 'sliding', 60_000) }], undefined)
    await client.pexpire(keyOf('s'), 5_000) // shortened behind the handle's back
    const [read] = await handle.getMany(['s'], undefined)
    expect(read?.expiresAt).toBeGreaterThan(Date.now() + 30_000)
    expect(await client.pttl(keyOf('s'))).toBeGreaterThan(30_000)
  })

  it('a value it did not write makes getMany throw ItemCorruptError (core then reads key by key)', async () => {
    const { client, handle, keyOf } = await setup()
    await handle.setMany([{ key: 'ok', item: item('ok') }], undefined)
    await client.set(keyOf('bad'), 'not an envelope')
    await expect(handle.getMany(['ok', 'bad'], undefined)).rejects.toBeInstanceOf(ItemCorruptError)
  })

  it('CacheManager: getMany copies Redis hits up, setMany/removeMany reach every level', async () => {
    const name = randomKey('mgr')
    const client = topology.connect()
    clients.push(client)
    const memory = memoryHandle({ name: 'memory' })
    const cache = new CacheManager<string>({
      name,
      handles: [memory, redisHandle({ client })] as CacheHandle<unknown>[],
    })
    closers.push(() => cache.close())
    const other = new CacheManager<string>({ name, handles: [redisHandle({ client })] })
    closers.push(() => other.close())
    await other.setMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })))
    const keys = Array.from({ length: 101 }, (_, i) => `k${i}`)
    const values = await cache.getMany(keys)
    expect(values).toEqual(keys.map((_, i) => (i < 100 ? `v${i}` : undefined)))
    expect(memory.get('k42', undefined)?.value).toBe('v42')
    expect(cache.stats().handles.redis).toMatchObject({ hits: 100, misses: 1 })
    await cache.removeMany(['k1', 'k2'])
    expect(memory.get('k1', undefined)).toBeUndefined()
    expect(await other.getMany(['k1', 'k2', 'k3'])).toEqual([undefined, undefined, 'v3'])
    expect(client instanceof Cluster ? 'cluster' : 'standalone').toBe(topology.name)
  })
})
