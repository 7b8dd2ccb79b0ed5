import {
  CacheManager,
  ClosedError,
  type ErrorEvent,
  InvalidOptionsError,
  ItemCorruptError,
  ValueTooLargeError,
} from '@cacheplane/core'
import { once } from 'node:events'
import { type AddressInfo, createServer } from 'node:net'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { startOwnMemcached } from '@cacheplane/test-servers'
import { afterEach, describe, expect, it } from 'vitest'
import { defaultMaxValueBytes, memcachedHandle } from '../src/index.js'
import { boundHandle, item, memcachedServers, rawClient, storedKeyOf, text } from './helpers.js'

const closers: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

function client() {
  const raw = rawClient()
  closers.push(() => raw.close())
  return raw
}

describe('corrupt bytes', () => {
  it('are a miss plus an error event; the bytes stay until a write, and getOrAdd replaces them', async () => {
    const cacheName = randomKey('corrupt')
    const cache = new CacheManager<string>({
      name: cacheName,
      handles: [memcachedHandle({ servers: memcachedServers() })],
    })
    closers.push(() => cache.close())
    const errors: ErrorEvent[] = []
    cache.on('error', (event) => errors.push(event))
    await cache.set('k', 'good')
    const raw = client()
    const stored = await storedKeyOf(raw, cacheName, 'k')
    await raw.set(stored, Buffer.from('definitely not an envelope'), { expires: 60 })
    expect(await cache.get('k')).toBeUndefined()
    await waitFor(() => errors.length > 0)
    expect(errors[0]!.error).toBeInstanceOf(ItemCorruptError)
    expect(errors[0]!.handle).toBe('memcached')
    // A read changes nothing (core's corrupt-item policy, the same for every handle).
    expect(text((await raw.get(stored)).value ?? undefined)).toBe('definitely not an envelope')
    expect(await cache.getOrAdd('k', () => 'fresh')).toBe('fresh')
    expect(await cache.get('k')).toBe('fresh')
  })

  it("follow core's policy: an error to reads, update, expire and touch, a taken key to add; set replaces them", async () => {
    const cacheName = randomKey('corrupt')
    const handle = boundHandle({}, cacheName)
    closers.push(() => handle.close())
    const raw = client()
    await handle.set('k', undefined, item('good'))
    const stored = await storedKeyOf(raw, cacheName, 'k')
    await raw.set(stored, Buffer.from([0x43, 0x45, 0x01]), { expires: 60 })
    await expect(handle.get('k', undefined)).rejects.toBeInstanceOf(ItemCorruptError)
    await expect(handle.peek('k', undefined)).rejects.toBeInstanceOf(ItemCorruptError)
    await expect(handle.update('k', undefined, 1, item('x'))).rejects.toBeInstanceOf(ItemCorruptError)
    await expect(handle.touch('k', undefined)).rejects.toBeInstanceOf(ItemCorruptError)
    await expect(handle.expire('k', undefined, 'absolute', 1_000, Date.now() + 1_000)).rejects.toBeInstanceOf(
      ItemCorruptError,
    )
    expect(await handle.add('k', undefined, item('added over garbage'))).toBe(false)
    expect(Buffer.from((await raw.get(stored)).value ?? [])).toEqual(Buffer.from([0x43, 0x45, 0x01]))
    const version = await handle.set('k', undefined, item('fixed'))
    expect(await handle.get('k', undefined)).toMatchObject({ version })
  })
})

describe('values over the size limit', () => {
  it('throw ValueTooLargeError and write nothing', async () => {
    const cacheName = randomKey('large')
    const handle = boundHandle({ maxValueBytes: 1_000 }, cacheName)
    closers.push(() => handle.close())
    const raw = client()
    const version = await handle.set('k', undefined, item('small'))
    const big = { ...item(''), value: new Uint8Array(2_000) }
    await expect(handle.set('k', undefined, big)).rejects.toBeInstanceOf(ValueTooLargeError)
    await expect(handle.add('other', undefined, big)).rejects.toBeInstanceOf(ValueTooLargeError)
    await expect(handle.update('k', undefined, version, big)).rejects.toBeInstanceOf(ValueTooLargeError)
    expect(text((await handle.get('k', undefined))?.value)).toBe('small')
    expect(await handle.get('other', undefined)).toBeUndefined()
    expect((await raw.get(await storedKeyOf(raw, cacheName, 'k'))).value).not.toBeNull()
  })

  it('accepts an item of exactly the default limit under a long key on a default server', async () => {
    const handle = boundHandle()
    closers.push(() => handle.close())
    const key = 'k'.repeat(240)
    // The envelope header (36 bytes) counts against the limit.
    const value = new Uint8Array(defaultMaxValueBytes - 36).fill(7)
    await handle.set(key, 'a-region', { ...item(''), value })
    expect((await handle.get(key, 'a-region'))?.value.byteLength).toBe(value.byteLength)
    const over = new Uint8Array(defaultMaxValueBytes - 35)
    await expect(handle.set(key, 'a-region', { ...item(''), value: over })).rejects.toBeInstanceOf(
      ValueTooLargeError,
    )
  })

  it('map the server refusing an item to ValueTooLargeError', async () => {
    const handle = boundHandle({ maxValueBytes: 4 * 1024 * 1024 })
    closers.push(() => handle.close())
    const value = new Uint8Array(2 * 1024 * 1024)
    await expect(handle.set('k', undefined, { ...item(''), value })).rejects.toBeInstanceOf(
      ValueTooLargeError,
    )
    // The connection is still in step after the refused write.
    await handle.set('k', undefined, item('after'))
    expect(text((await handle.get('k', undefined))?.value)).toBe('after')
  })
})

describe('a server that goes down', () => {
  it('fails calls fast, lets the memory layer answer reads, and recovers when the server is back', async () => {
    const server = await startOwnMemcached()
    closers.push(() => server.stop())
    const cache = new CacheManager<string>({
      name: randomKey('down'),
      handles: [
        memoryHandle({ maxEntries: 100 }),
        memcachedHandle({ servers: server.url, commandTimeoutMs: 300 }),
      ],
    })
    closers.push(() => cache.close())
    const errors: ErrorEvent[] = []
    cache.on('error', (event) => errors.push(event))
    await cache.set('k', 'v')
    await server.kill()
    // Answered by the memory layer; the dead server is not even needed.
    expect(await cache.get('k')).toBe('v')
    // A miss walks down to the dead server: an error event, not a crash or a hang.
    expect(await cache.get('missing')).toBeUndefined()
    await waitFor(() => errors.some((event) => event.handle === 'memcached'))
    await expect(cache.set('k2', 'v2')).rejects.toThrow()
    await server.restart()
    // memjs reconnects on the next request; the circuit breaker lets a probe through after its cool-down.
    await waitFor(
      async () => {
        try {
          await cache.set('k3', 'back')
          return true
        } catch {
          return false
        }
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    )
    expect(await cache.get('k3')).toBe('back')
  })
})

describe('a server that accepts connections and closes them at once', () => {
  it('fails each request by the deadline instead of hanging (memjs never settles it)', async () => {
    // A proxy or load balancer with no live backend behaves like this.
    const server = createServer((socket) => socket.destroy())
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const { port } = server.address() as AddressInfo
    const handle = memcachedHandle({
      servers: `127.0.0.1:${port}`,
      commandTimeoutMs: 100,
      connectTimeoutMs: 100,
    })
    closers.push(() => handle.close())
    handle.bind(randomKey('deadline'))
    await expect(handle.get('k', undefined)).rejects.toThrow(/did not answer within 200 ms/)
    await expect(handle.set('k', undefined, item('v'))).rejects.toThrow(/did not answer within 200 ms/)
  })
})

describe('options and lifecycle', () => {
  it('rejects bad options with InvalidOptionsError', () => {
    const servers = memcachedServers()
    expect(() => memcachedHandle({})).toThrow(InvalidOptionsError)
    expect(() => memcachedHandle({ servers, client: rawClient() })).toThrow(InvalidOptionsError)
    expect(() => memcachedHandle({ servers, prefix: 'has space' })).toThrow(InvalidOptionsError)
    expect(() => memcachedHandle({ servers, prefix: 'p'.repeat(65) })).toThrow(InvalidOptionsError)
    expect(() => memcachedHandle({ servers, generationRefreshMs: 0 })).toThrow(InvalidOptionsError)
    expect(() => memcachedHandle({ servers, maxValueBytes: -1 })).toThrow(InvalidOptionsError)
    expect(() => memcachedHandle({ servers: [] })).toThrow(InvalidOptionsError)
    expect(() => memcachedHandle({ servers: 'a b:1' })).toThrow(InvalidOptionsError)
  })

  it('must be bound to one cache before use', async () => {
    const handle = memcachedHandle({ servers: memcachedServers() })
    closers.push(() => handle.close())
    await expect(handle.get('k', undefined)).rejects.toBeInstanceOf(InvalidOptionsError)
    handle.bind('a')
    handle.bind('a')
    expect(() => handle.bind('b')).toThrow(InvalidOptionsError)
  })

  it('refuses calls after close instead of quietly reconnecting', async () => {
    const handle = boundHandle()
    handle.close()
    handle.close()
    await expect(handle.get('k', undefined)).rejects.toBeInstanceOf(ClosedError)
    await expect(handle.clear()).rejects.toBeInstanceOf(ClosedError)
  })

  it('never closes a client it was given', async () => {
    const raw = client()
    const handle = memcachedHandle({ client: raw })
    handle.bind(randomKey('given'))
    await handle.set('k', undefined, item('v'))
    handle.close()
    await raw.set('cacheplane-test:still-open', 'yes', { expires: 60 })
    expect((await raw.get('cacheplane-test:still-open')).value?.toString()).toBe('yes')
  })
})
