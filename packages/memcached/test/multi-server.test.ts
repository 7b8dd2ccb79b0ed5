import { randomKey } from '@cacheplane/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { boundHandle, item, memcachedPool, rawClient, storedKeyOf, text } from './helpers.js'

const closers: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

describe('two servers', () => {
  it('spreads keys over both servers and everything still works', async () => {
    const pool = memcachedPool()
    const cacheName = randomKey('pool')
    const handle = boundHandle({ servers: pool.split(',') }, cacheName)
    closers.push(() => handle.close())
    const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`)
    for (const key of keys) await handle.set(key, key.endsWith('0') ? 'r' : undefined, item(key))

    // Where did each item land? Ask each server on its own.
    const poolClient = rawClient(pool)
    const single = pool.split(',').map((server) => rawClient(server))
    closers.push(() => poolClient.close(), ...single.map((client) => () => client.close()))
    const perServer = single.map(() => 0)
    for (const key of keys) {
      const stored = await storedKeyOf(poolClient, cacheName, key, key.endsWith('0') ? 'r' : undefined)
      const holders = await Promise.all(
        single.map(async (client) => (await client.get(stored)).value !== null),
      )
      expect(holders.filter(Boolean)).toHaveLength(1)
      holders.forEach((held, index) => {
        if (held) perServer[index]! += 1
      })
    }
    for (const count of perServer) expect(count).toBeGreaterThan(0)

    for (const key of keys) {
      expect(text((await handle.get(key, key.endsWith('0') ? 'r' : undefined))?.value)).toBe(key)
    }
    expect(await handle.add('key-1', undefined, item('no'))).toBe(false)
    const read = await handle.get('key-1', undefined)
    expect((await handle.update('key-1', undefined, read!.version, item('updated'))).status).toBe('ok')
    expect(await handle.remove('key-2', undefined)).toBe(true)
    await handle.clearRegion('r')
    expect(await handle.get('key-10', 'r')).toBeUndefined()
    expect(text((await handle.get('key-1', undefined))?.value)).toBe('updated')
    await handle.clear()
    for (const key of keys.slice(0, 10)) expect(await handle.get(key, undefined)).toBeUndefined()
  })
})
