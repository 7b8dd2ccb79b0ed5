import { InvalidOptionsError } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { startOwnRedis } from '@cacheplane/test-servers'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { redisHandle } from '../src/index.js'
import { type Instance, startInstance } from './manager-fixture.js'
import { closeAll, mastersOf, topologies } from './topologies.js'

// This file changes notify-keyspace-events on the shared servers; no other test depends on it.
describe.each(topologies)('keyspace notifications on $name Redis', (topology) => {
  const cleanups: Array<() => Promise<unknown>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  async function admin() {
    const client = topology.connect()
    cleanups.push(() => closeAll([client]))
    return { client, masters: await mastersOf(client) }
  }

  it('refuses to start on a server without notifications, and configures it when allowed', async () => {
    const { client, masters } = await admin()
    await Promise.all(masters.map((node) => node.config('SET', 'notify-keyspace-events', '')))
    const refused = redisHandle({ client, keyspaceNotifications: true })
    const error = await refused.bind(randomKey('ks')).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as Error).message).toMatch(/notify-keyspace-events.*configureServer/s)
    await refused.close()

    const allowed = redisHandle({ client, keyspaceNotifications: true, configureServer: true })
    await allowed.bind(randomKey('ks'))
    await allowed.close()
    for (const node of masters) {
      const [, flags] = (await node.config('GET', 'notify-keyspace-events')) as [string, string]
      for (const flag of ['E', 'x', 'e', 'g']) expect(flags).toContain(flag)
    }
  })

  it('turns expirations and foreign deletes into evict events, but not its own removes and clears', async () => {
    const { client, masters } = await admin()
    await Promise.all(masters.map((node) => node.config('SET', 'notify-keyspace-events', 'Exeg')))
    const name = randomKey('ks')
    const instance: Instance = await startInstance(topology.options(), name, { keyspaceNotifications: true })
    cleanups.push(() => instance.cache.close())
    const { cache, events, next } = instance

    await cache.set('short', 'v', { region: 'r', expiration: { mode: 'absolute', ttl: 50 } })
    // EXISTS makes Redis expire the key on access, should its active expiry cycle not have got to it yet.
    await waitFor(async () => (await client.exists(`cacheplane:${name}:r:short`)) === 0, {
      message: 'expiry',
    })
    const expired = await next('evict', (e) => e.key === 'short' && e.handle === 'redis')
    expect(expired).toMatchObject({ region: 'r', reason: 'expired', level: 1 })

    await cache.set('foreign', 'v')
    expect(await cache.get('foreign')).toBe('v')
    await client.del(`cacheplane:${name}::foreign`)
    expect(await next('evict', (e) => e.key === 'foreign' && e.handle === 'redis')).toMatchObject({
      region: undefined,
      reason: 'external',
    })
    // The memory copy went with it.
    expect(await cache.get('foreign')).toBeUndefined()

    await cache.set('mine', 'v')
    await cache.set('cleared', 'v', { region: 'c' })
    await cache.remove('mine')
    await cache.clearRegion('c')
    await cache.setMany([
      { key: 'bulk1', value: 'v' },
      { key: 'bulk2', value: 'v' },
    ])
    await cache.removeMany(['bulk1', 'bulk2', 'absent'])
    // A foreign delete after ours: once its event arrived, any event for ours would have too.
    // 'absent' was not there when removeMany ran: its foreign delete now must still be reported.
    await cache.set('absent', 'v')
    await client.unlink(`cacheplane:${name}::absent`)
    await next('evict', (e) => e.key === 'absent' && e.reason === 'external')
    const evicted = events.flatMap((e) =>
      e.name === 'evict' && e.event.handle === 'redis' ? [e.event.key] : [],
    )
    expect(evicted).not.toContain('mine')
    expect(evicted).not.toContain('cleared')
    expect(evicted).not.toContain('bulk1')
    expect(evicted).not.toContain('bulk2')
  })
})

describe('keyspace notifications when Redis evicts under maxmemory', () => {
  it('reports evictions with reason evicted', async () => {
    // A server of its own: a memory limit on the shared one would evict other tests' keys.
    const server = await startOwnRedis()
    const admin = new Redis(server.url)
    const cleanups: Array<() => Promise<unknown>> = [() => server.stop(), () => closeAll([admin])]
    try {
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1])
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
      await admin.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024))
      const instance = await startInstance({ url: server.url }, randomKey('ks'), {
        keyspaceNotifications: true,
        configureServer: true,
      })
      cleanups.push(() => instance.cache.close())
      const blob = 'x'.repeat(64 * 1024)
      let written = 0
      await waitFor(
        async () => {
          await instance.cache.set(`k${written++}`, blob, { region: 'big' })
          return instance.events.some((e) => e.name === 'evict' && e.event.reason === 'evicted')
        },
        { timeoutMs: 15_000, intervalMs: 1, message: 'an eviction under maxmemory' },
      )
      const evicted = instance.events.find((e) => e.name === 'evict' && e.event.reason === 'evicted')
      expect(evicted?.event).toMatchObject({ region: 'big', handle: 'redis' })
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup()
    }
  })
})
