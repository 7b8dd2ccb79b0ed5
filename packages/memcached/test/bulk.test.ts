// The Memcached handle's bulk methods (bulk.ts): the GETKQ/NOOP multi-get on one server and
// on a two-server pool, corrupt items, and CacheManager's bulk calls over memory + Memcached.
import { CacheManager, type CacheHandle, ItemCorruptError } from '@cacheplane/core'
import { randomKey } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { multiGet } from '../src/bulk.js'
import { Connection } from '../src/connection.js'
import { memcachedHandle } from '../src/index.js'
import {
  boundHandle,
  item,
  memcachedPool,
  memcachedServers,
  rawClient,
  storedKeyOf,
  text,
} from './helpers.js'

const closers: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

describe.each([
  ['one server', () => memcachedServers()],
  ['two servers', () => memcachedPool()],
])('bulk methods on %s', (_name, servers) => {
  it('setMany then getMany round-trips many keys in order; removeMany counts what existed', async () => {
    const handle = boundHandle({ servers: servers().split(',') })
    closers.push(() => handle.close())
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`)
    const written = keys.filter((_, i) => i % 4 !== 0)
    const versions = await handle.setMany(
      written.map((key) => ({ key, item: item(key, 'absolute', 60_000) })),
      'r',
    )
    expect(new Set(versions).size).toBe(written.length)
    const items = await handle.getMany(keys, 'r')
    expect(items.map((read) => text(read?.value))).toEqual(
      keys.map((key, i) => (i % 4 === 0 ? undefined : key)),
    )
    expect(items[1]).toMatchObject({ mode: 'absolute', ttl: 60_000, version: versions[0] })
    expect(await handle.getMany(keys.slice(0, 5), undefined)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ])
    expect(await handle.removeMany(['k0', 'k1', 'k2'], 'r')).toBe(2)
    expect((await handle.getMany(['k1', 'k2', 'k3'], 'r')).map((read) => text(read?.value))).toEqual([
      undefined,
      undefined,
      'k3',
    ])
    expect(await handle.getMany([], 'r')).toEqual([])
  })
})

describe('multi-get', () => {
  it('answers every key of a batch in one request per server, hits only', async () => {
    const client = rawClient(memcachedPool())
    closers.push(() => client.close())
    const connection = new Connection(client as never, 5_000)
    const prefix = randomKey('mg')
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => client.set(`${prefix}:${i}`, `v${i}`, {})))
    const keys = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `${prefix}:${i}`)
    const found = await multiGet(connection, keys)
    expect([...found.keys()].sort()).toEqual(keys.slice(0, 6).sort())
    expect(found.get(`${prefix}:3`)?.value.toString()).toBe('v3')
    expect((await multiGet(connection, [`${prefix}:none`])).size).toBe(0)
  })

  it('a corrupt item makes getMany throw ItemCorruptError (core then reads key by key)', async () => {
    const cacheName = randomKey('bulk')
    const handle = boundHandle({}, cacheName)
    closers.push(() => handle.close())
    const client = rawClient()
    closers.push(() => client.close())
    await handle.setMany(
      [
        { key: 'ok', item: item('ok') },
        { key: 'bad', item: item('bad') },
      ],
      undefined,
    )
    await client.set(await storedKeyOf(client, cacheName, 'bad'), 'garbage', {})
    await expect(handle.getMany(['ok', 'bad'], undefined)).rejects.toBeInstanceOf(ItemCorruptError)
  })
})

describe('CacheManager over memory + Memcached', () => {
  it('getMany copies hits up; a corrupt item is missed alone; removeMany reaches every level', async () => {
    const name = randomKey('mgr')
    const memory = memoryHandle({ name: 'memory' })
    const cache = new CacheManager<string>({
      name,
      handles: [memory, memcachedHandle({ servers: memcachedServers() })] as CacheHandle<unknown>[],
    })
    closers.push(() => cache.close())
    const writer = new CacheManager<string>({
      name,
      handles: [memcachedHandle({ servers: memcachedServers() })],
    })
    closers.push(() => writer.close())
    await writer.setMany(Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })))
    const client = rawClient()
    closers.push(() => client.close())
    await client.set(await storedKeyOf(client, name, 'k7'), 'garbage', {})
    const values = await cache.getMany(Array.from({ length: 51 }, (_, i) => `k${i}`))
    expect(values).toEqual(Array.from({ length: 51 }, (_, i) => (i < 50 && i !== 7 ? `v${i}` : undefined)))
    expect(memory.get('k3', undefined)?.value).toBe('v3')
    await cache.removeMany(['k3', 'k4'])
    expect(memory.get('k3', undefined)).toBeUndefined()
    expect(await writer.getMany(['k3', 'k4', 'k5'])).toEqual([undefined, undefined, 'v5'])
  })
})
