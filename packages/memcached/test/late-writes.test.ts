/**
 * A Memcached write that times out and lands later: the writer probes the key until a probe
 * sent after the failure answers, then announces it again (core's `late-writes.ts`).
 */
import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { startTcpProxy } from '@cacheplane/test-servers'
import { afterEach, describe, expect, it } from 'vitest'
import { memcachedHandle } from '../src/index.js'
import { memcachedServers } from './helpers.js'

const closers: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

describe('a Memcached set that times out', () => {
  it('leaves no instance serving the old value, whether or not it landed', async () => {
    const [host, port] = memcachedServers().split(',')[0]!.split(':')
    const proxy = await startTcpProxy({ host: host!, port: Number(port) })
    closers.push(() => proxy.close())
    const hub = createBackplaneHub()
    const name = randomKey('late')
    const open = (servers: string) => {
      const cache = new CacheManager<string>({
        name,
        handles: [memoryHandle(), memcachedHandle({ servers, commandTimeoutMs: 300 })],
        backplane: memoryBackplane({ hub }),
      })
      closers.push(() => cache.close())
      cache.on('error', () => {})
      return cache
    }
    const writer = open(`127.0.0.1:${proxy.port}`)
    const reader = open(memcachedServers())
    await Promise.all([writer.ready(), reader.ready()])
    await writer.set('k', 'old')
    await waitFor(async () => (await reader.get('k')) === 'old', { message: "the reader reads 'old'" })
    let heard = 0
    reader.on('set', (event) => {
      if (event.origin === 'remote') heard++
    })
    proxy.stall()
    await expect(writer.set('k', 'new')).rejects.toThrow()
    // The failure is announced: the reader drops its copy, then reads the store again and
    // copies what it holds now (still 'old': the set is held) into its memory.
    await waitFor(() => heard === 1, { message: "the reader heard the writer's failed set" })
    expect(await reader.get('k')).toBe('old')
    proxy.heal()
    await waitFor(() => writer.stats().unsettledWrites === 0, {
      timeoutMs: 10_000,
      message: 'the probe answered',
    })
    await writer.flush()
    // Whatever the store holds now (the set landed or was dropped with its connection), both
    // instances read it, not a copy of what it held before.
    const stored = await open(memcachedServers()).get('k')
    await waitFor(async () => (await reader.get('k')) === stored, {
      message: 'the reader reads what the store holds',
    })
    expect(await writer.get('k')).toBe(stored)
  })
})

describe('barrier', () => {
  it('answers only once the server answered what was sent before it', async () => {
    const [host, port] = memcachedServers().split(',')[0]!.split(':')
    const proxy = await startTcpProxy({ host: host!, port: Number(port) })
    closers.push(() => proxy.close())
    const handle = memcachedHandle({ servers: `127.0.0.1:${proxy.port}`, commandTimeoutMs: 10_000 })
    closers.push(() => handle.close())
    await handle.bind(randomKey('barrier'))
    await handle.barrier()
    const direct = memcachedHandle({ servers: memcachedServers() })
    closers.push(() => direct.close())
    await direct.bind(randomKey('direct'))
    proxy.stall()
    let answered = false
    const barrier = handle.barrier().then(() => {
      answered = true
    })
    // Memcached answers others meanwhile: the barrier waits for its own connection.
    for (let i = 0; i < 3; i++) expect(await direct.get('k', undefined)).toBeUndefined()
    expect(answered).toBe(false)
    proxy.heal()
    await barrier
    expect(answered).toBe(true)
  })
})
