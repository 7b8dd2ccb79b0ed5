import { CacheManager, cacheKeyPrefix, encodeEnvelope, storeKey } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { startOwnRedis, startTcpProxy } from '@cacheplane/test-servers'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { redisBackplane, redisHandle } from '../src/index.js'
import { type Instance, startInstance } from './manager-fixture.js'
import { closeAll, cluster, mastersOf, standalone, topologies } from './topologies.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function instance(...args: Parameters<typeof startInstance>): Promise<Instance> {
  const started = await startInstance(...args)
  cleanups.push(() => started.cache.close())
  return started
}

describe.each(topologies)('corrupt items in $name Redis', (topology) => {
  it('reads bytes it did not write as a miss plus an error event and a stat', async () => {
    const name = randomKey('corrupt')
    const { cache, events } = await instance(topology.options(), name)
    const raw = topology.connect()
    cleanups.push(() => closeAll([raw]))
    const keyOf = (key: string, region?: string) => storeKey(cacheKeyPrefix('cacheplane:', name), region, key)
    await raw.set(keyOf('string'), '\u0000\u00ff not ours')
    await raw.rpush(keyOf('list', 'r'), 'x')
    const envelope = (value: string) =>
      Buffer.from(
        encodeEnvelope({
          value: new TextEncoder().encode(value),
          mode: 'none',
          ttl: 0,
          expiresAt: 0,
          created: 1,
          version: 1,
        }),
      )
    await raw.set(keyOf('bad-json'), envelope('J{not json'))
    await raw.set(keyOf('no-tag'), envelope('{"json":"without the serializer tag"}'))
    await raw.hset(keyOf('a-hash'), 'v', '1', 'm', 'n', 't', '0', 'e', '0', 'c', '1', 'r', '1')
    const keys = [['string'], ['list', 'r'], ['bad-json'], ['no-tag'], ['a-hash']] as const
    for (const [key, region] of keys) {
      const before = events.filter((e) => e.name === 'error').length
      expect(await cache.get(key, region === undefined ? {} : { region })).toBeUndefined()
      const errors = events.filter((e) => e.name === 'error').slice(before)
      expect(errors.map((e) => e.name === 'error' && e.event.error.code)).toEqual(['E_ITEM_CORRUPT'])
    }
    expect(cache.stats().handles.redis?.errors).toBeGreaterThanOrEqual(keys.length)
    // A write replaces what could not be read.
    await cache.set('string', 'ours now')
    expect(await cache.get('string')).toBe('ours now')
  })
})

describe('a Redis that goes down', () => {
  it('fails fast once the circuit opens, answers reads from memory, and recovers', async () => {
    const url = new URL(standalone.options().url ?? '')
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) })
    cleanups.push(() => proxy.close())
    const { cache, events } = await instance(
      { url: `redis://127.0.0.1:${proxy.port}`, commandTimeoutMs: 300 },
      randomKey('down'),
      {
        circuitBreaker: { failureThreshold: 3, resetAfterMs: 300 },
        // The backplane runs on the same (cut) Redis: with the default 'bypass' memory would not be read.
        backplaneDown: 'keep',
      },
    )
    await cache.set('cached', 'in memory too')
    proxy.cut()
    expect(await cache.get('cached')).toBe('in memory too')
    for (let i = 0; i < 6; i++) expect(await cache.get(`missing-${i}`)).toBeUndefined()
    expect(cache.stats().handles.redis?.circuit).toBe('open')
    const codes = events.flatMap((e) => (e.name === 'error' ? [e.event.error.code] : []))
    expect(codes).toContain('E_HANDLE_FAILED')
    expect(codes).toContain('E_CIRCUIT_OPEN')
    await expect(cache.set('cached', 'lost?')).rejects.toThrow()
    expect(await cache.get('cached')).toBe('in memory too')
    proxy.heal()
    await waitFor(
      async () => {
        await cache.set('after', 'back')
        return true
      },
      { timeoutMs: 10_000, message: 'a write once Redis is reachable again' },
    )
    expect(cache.stats().handles.redis?.circuit).toBe('closed')
  })
})

describe('a SET that times out and lands later', () => {
  it('is announced again once it can no longer land: the other instance does not keep the old value', async () => {
    const url = new URL(standalone.options().url ?? '')
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) })
    cleanups.push(() => proxy.close())
    const name = randomKey('late-set')
    // The writer's store connection goes through the proxy; its backplane does not.
    const writer = new CacheManager<string>({
      name,
      handles: [
        memoryHandle(),
        redisHandle({ url: `redis://127.0.0.1:${proxy.port}`, commandTimeoutMs: 300 }),
      ],
      backplane: redisBackplane(standalone.options()),
    })
    cleanups.push(() => writer.close())
    writer.on('error', () => {})
    await writer.ready()
    const reader = await instance(standalone.options(), name)
    // The reader hears this set before the marks below: it can read 'old' from Redis before
    // the message arrives, which would then be taken for the announcements awaited below.
    const before = reader.events.length
    await writer.set('k', 'old')
    await reader.next('set', (e) => e.key === 'k' && e.origin === 'remote', before)
    await waitFor(async () => (await reader.cache.get('k')) === 'old', { message: "the reader reads 'old'" })
    proxy.stall() // the SET reaches Redis only at heal(), after ioredis gave up on it
    const mark = reader.events.length
    const failure = await writer.set('k', 'new').then(
      () => undefined,
      (error: Error) => error,
    )
    expect(String((failure?.cause as Error | undefined)?.message)).toMatch(/timed out/i)
    // The failure is announced; the reader drops its copy and reads 'old' again from Redis.
    await reader.next('set', (e) => e.key === 'k' && e.origin === 'remote', mark)
    expect(await reader.cache.get('k')).toBe('old')
    expect(writer.stats().unsettledWrites).toBe(1)
    const settled = reader.events.length
    proxy.heal()
    // Once the writer's probe, queued behind the SET, answers, the key is announced again.
    await reader.next('set', (e) => e.key === 'k' && e.origin === 'remote', settled)
    expect(await reader.cache.get('k')).toBe('new')
    expect(writer.stats().unsettledWrites).toBe(0)
  })
})

describe('a clear that times out on a Redis Cluster and lands later', () => {
  it('is announced again once every master applied it: the other instance does not keep what it read meanwhile', async () => {
    const name = randomKey('late-clear')
    // The backplane runs on the standalone server: a paused master would hold its PUBLISHes too.
    const backplaneConnection = standalone.options()
    const writer = await instance({ ...cluster.options(), commandTimeoutMs: 300 }, name, {
      backplaneConnection,
    })
    const reader = await instance(cluster.options(), name, { backplaneConnection })
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
    for (const key of keys) await writer.cache.set(key, 'old')
    for (const key of keys) expect(await reader.cache.get(key)).toBe('old')
    // Every master stops applying writes (reads go on, and a connection's later commands wait
    // behind its paused write), each for longer than the last: the clear's UNLINKs wait, and
    // land when each master's pause ends. Only a probe of every master tells when all have.
    const direct = cluster.connect()
    const admins = (await mastersOf(direct)).map(
      (master) => new Redis({ host: master.options.host, port: master.options.port }),
    )
    cleanups.push(() => closeAll([direct, ...admins]))
    const mark = reader.events.length
    await Promise.all(
      admins.map((admin, i) => admin.call('CLIENT', 'PAUSE', String(1_800 + 600 * i), 'WRITE')),
    )
    const failure = await writer.cache.clear().then(
      () => undefined,
      (error: Error) => error,
    )
    expect(String((failure?.cause as Error | undefined)?.message)).toMatch(/timed out/i)
    expect(writer.cache.stats().unsettledWrites).toBe(1)
    // The failed clear is announced; the reader reads the store again, which still has every key.
    await reader.next('clear', (e) => e.origin === 'remote', mark)
    const settled = reader.events.length
    expect(await Promise.all(keys.map((key) => reader.cache.get(key)))).toEqual(keys.map(() => 'old'))
    // Once every master answered the writer's probe, sent after the UNLINKs, the clear is announced again.
    await reader.next('clear', (e) => e.origin === 'remote', settled)
    for (const key of keys) expect(await reader.cache.get(key)).toBeUndefined()
    expect(writer.cache.stats().unsettledWrites).toBe(0)
  })
})

describe('barrier', () => {
  it('answers only once every connection answered what was sent before it', async () => {
    const url = new URL(standalone.options().url ?? '')
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) })
    cleanups.push(() => proxy.close())
    const handle = redisHandle({ url: `redis://127.0.0.1:${proxy.port}`, commandTimeoutMs: 10_000 })
    cleanups.push(() => handle.close())
    await handle.bind?.(randomKey('barrier'))
    await handle.barrier()
    const direct = new Redis(url.toString())
    cleanups.push(() => closeAll([direct]))
    proxy.stall()
    let answered = false
    const barrier = handle.barrier().then(() => {
      answered = true
    })
    // Redis answers others meanwhile: the barrier waits for its own connection, held by the proxy.
    for (let i = 0; i < 3; i++) expect(await direct.ping()).toBe('PONG')
    expect(answered).toBe(false)
    proxy.heal()
    await barrier
    expect(answered).toBe(true)
  })
})

describe('a Redis that restarts', () => {
  it('reports a gap and serves no stale value after writes during the restart', async () => {
    const server = await startOwnRedis()
    cleanups.push(() => server.stop())
    const name = randomKey('restart')
    const writer = await instance({ url: server.url }, name)
    const reader = await instance({ url: server.url }, name)
    await writer.cache.set('k', 'v1')
    expect(await reader.cache.get('k')).toBe('v1')
    const mark = reader.events.length
    await server.restart()
    await waitFor(
      async () => {
        await writer.cache.set('k', 'v2')
        return true
      },
      { timeoutMs: 10_000, message: 'a write after the restart' },
    )
    await reader.next('backplane', (e) => e.type === 'gap', mark)
    expect(await reader.cache.get('k')).toBe('v2')
    const probe = new Redis(server.url)
    cleanups.push(() => closeAll([probe]))
    expect(await probe.ping()).toBe('PONG')
  })
})
