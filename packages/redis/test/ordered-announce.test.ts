// The Redis handle and backplane given one standalone client: the PUBLISH follows the SET (or
// UNLINK) on the connection, so core announces a `set` (a `remove`) as soon as the write is sent
// (`ordersAfter`). With the writer's replies held back by a proxy, the other instance hears of
// the change, and reads the new state, before the writer's call resolves.
import { type CacheHandle, CacheManager } from '@cacheplane/core'
import { randomKey } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { startTcpProxy, type TcpProxy } from '@cacheplane/test-servers'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { redisBackplane, redisHandle } from '../src/index.js'
import { type Instance, startInstance } from './manager-fixture.js'
import { closeAll, cluster, standalone } from './topologies.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** How long the proxy holds the writer's replies: far longer than a message takes, shorter than the liveness limit (1,500 ms). */
const REPLY_DELAY_MS = 1_000

/** A client to standalone Redis through a proxy the test can slow down. */
async function proxiedClient(enableAutoPipelining = false): Promise<{ client: Redis; proxy: TcpProxy }> {
  const url = new URL(standalone.options().url!)
  const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) })
  const client = new Redis(proxy.port, '127.0.0.1', { enableAutoPipelining })
  cleanups.push(
    () => proxy.close(),
    () => closeAll([client]),
  )
  return { client, proxy }
}

/** A writer on `client` (its backplane on the same client, or on a connection of its own) and a reader with `v1` cached, of a new cache. */
async function writerAndReader(client: Redis, shared: boolean) {
  const name = randomKey('ordered')
  const writer = new CacheManager<unknown>({
    name,
    handles: [memoryHandle(), redisHandle({ client })],
    backplane: redisBackplane(shared ? { client } : standalone.options()),
  })
  cleanups.push(() => writer.close())
  const reader: Instance = await startInstance(standalone.options(), name)
  cleanups.push(() => reader.cache.close())
  await writer.ready()
  await reader.cache.set('k', 'v1')
  await reader.next('set', (e) => e.origin === 'local')
  return { writer, reader }
}

/** A writer whose replies the proxy delays from now on, a reader, and where the reader's new events start. */
async function slowWriter(shared: boolean, enableAutoPipelining = false) {
  const { client, proxy } = await proxiedClient(enableAutoPipelining)
  const { writer, reader } = await writerAndReader(client, shared)
  proxy.delay(REPLY_DELAY_MS, 'replies')
  return { writer, reader, from: reader.events.length }
}

/** Starts a write; `settled()` says whether it resolved yet. */
function pending(write: Promise<unknown>) {
  let settled = false
  const done = write.finally(() => {
    settled = true
  })
  return { done, settled: () => settled }
}

/** Starts `writer.set(key, value)`; `settled()` says whether it resolved yet. */
function setting(writer: CacheManager<unknown>, key: string, value: unknown) {
  return pending(writer.set(key, value))
}

describe('a set announced behind its SET on one client', () => {
  it.each([
    { client: 'a plain client', enableAutoPipelining: false },
    { client: 'an auto-pipelining client', enableAutoPipelining: true },
  ])(
    'reaches the other instance while the writer still waits for its reply, and the new value is there ($client)',
    async ({ enableAutoPipelining }) => {
      const { writer, reader, from } = await slowWriter(true, enableAutoPipelining)
      const write = setting(writer, 'k', 'v2')
      await reader.next('set', (e) => e.origin === 'remote' && e.key === 'k', from)
      expect(write.settled()).toBe(false)
      expect(await reader.cache.get('k')).toBe('v2')
      await write.done
    },
  )

  it('a remove too: the other instance hears it before the UNLINK is answered, and finds nothing', async () => {
    const { writer, reader, from } = await slowWriter(true)
    const removal = pending(writer.remove('k'))
    await reader.next('remove', (e) => e.origin === 'remote' && e.key === 'k', from)
    expect(removal.settled()).toBe(false)
    expect(await reader.cache.get('k')).toBeUndefined()
    await removal.done
  })

  it('with the backplane on its own connection, the message waits for the reply', async () => {
    const { writer, reader, from } = await slowWriter(false)
    await setting(writer, 'k', 'v2').done
    expect(reader.events.slice(from).some((r) => r.name === 'set' && r.event.origin === 'remote')).toBe(false)
    await reader.next('set', (e) => e.origin === 'remote' && e.key === 'k', from)
    expect(await reader.cache.get('k')).toBe('v2')
  })
})

describe('redisBackplane.ordersAfter', () => {
  it("holds because the handle's set and remove have sent their SET and UNLINK when they return", async () => {
    const client = new Redis(standalone.options().url!)
    cleanups.push(() => closeAll([client]))
    await client.ping()
    const handle = redisHandle({ client })
    await handle.bind(randomKey('sent'))
    const queued = client.commandQueue.length
    const now = Date.now()
    const written = handle.set('k', undefined, {
      value: new Uint8Array([1]),
      mode: 'none',
      ttl: 0,
      expiresAt: 0,
      created: now,
    })
    expect(client.commandQueue.length).toBe(queued + 1)
    await written
    const removed = handle.remove('k', undefined)
    expect(client.commandQueue.length).toBe(queued + 1)
    expect(await removed).toBe(true)
  })

  it('is true only for a handle writing on the very client it publishes on, standalone, its writes and PUBLISH in one queue', async () => {
    const url = standalone.options().url!
    const one = standalone.connect()
    const other = standalone.connect()
    const pipelined = new Redis(url, { enableAutoPipelining: true })
    const exempt = new Redis(url, { enableAutoPipelining: true, autoPipeliningIgnoredCommands: ['unlink'] })
    const onCluster = cluster.connect()
    cleanups.push(() => closeAll([one, other, pipelined, exempt, onCluster]))
    const verdict = (handleOn: Redis | ReturnType<typeof cluster.connect>, backplaneOn = handleOn) => {
      const handle = redisHandle({ client: handleOn }) as CacheHandle<unknown>
      return redisBackplane({ client: backplaneOn }).ordersAfter(handle)
    }
    expect(verdict(one)).toBe(true)
    expect(verdict(one, other)).toBe(false)
    expect(verdict(pipelined)).toBe(true)
    expect(verdict(exempt)).toBe(false)
    expect(verdict(onCluster)).toBe(false)
    // Opened from one url, they share a connection (shared-connection.test.ts), unless told not to.
    const opened = redisHandle(standalone.options()) as CacheHandle<unknown>
    const backplane = redisBackplane(standalone.options())
    const own = redisBackplane({ ...standalone.options(), shareConnection: false })
    cleanups.push(
      () => backplane.close(),
      () => own.close(),
      async () => opened.close(),
    )
    expect(backplane.ordersAfter(opened)).toBe(true)
    expect(own.ordersAfter(opened)).toBe(false)
    expect(redisBackplane({ client: one }).ordersAfter(memoryHandle() as CacheHandle<unknown>)).toBe(false)
  })
})
