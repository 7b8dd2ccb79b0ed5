import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheHandle,
  CacheManager,
  createBackplaneHub,
  HandleFailedError,
  memoryBackplane,
} from '../src/index.js'
import { failingHandle, spyHandle } from './sync-fixtures.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

describe('the write fan-out', () => {
  it('a synchronous bottom that throws rejects set (never throws), reports it, and announces nothing', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const hub = createBackplaneHub()
    const bottom = spyHandle(memory, {
      set: () => {
        throw new Error('out of memory')
      },
    })
    const cache = new CacheManager({ name: 'c', handles: [bottom], backplane: memoryBackplane({ hub }) })
    closers.push(() => cache.close())
    await cache.ready()
    const errors: string[] = []
    cache.on('error', (event) => errors.push(`${event.operation}:${event.handle}:${event.error.code}`))
    let pending: Promise<void> | undefined
    expect(() => {
      pending = cache.set('k', 1)
    }).not.toThrow()
    await expect(pending).rejects.toBeInstanceOf(HandleFailedError)
    await expect(pending).rejects.toMatchObject({ source: 'memory', cause: { message: 'out of memory' } })
    expect(errors).toEqual(['set:memory:E_HANDLE_FAILED'])
    await cache.flush()
    expect(cache.stats().handles.memory).toMatchObject({ sets: 0, errors: 1 })
    expect(cache.stats().backplane?.messagesSent).toBe(0)
    expect(hub.framesPublished).toBe(0)
  })

  it('remove goes on past a synchronous level that throws, announces, and rejects with its typed error', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const hub = createBackplaneHub()
    let failRemove = false
    const top = spyHandle(memory, {
      remove: (key, region) => {
        if (failRemove) throw new Error('locked')
        return memory.remove(key, region)
      },
    })
    const writer = new CacheManager({
      name: 'c',
      handles: [top, shared],
      shared: [shared],
      backplane: memoryBackplane({ hub }),
    })
    const peer = new CacheManager({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), shared],
      shared: [shared],
      backplane: memoryBackplane({ hub }),
    })
    closers.push(
      () => writer.close(),
      () => peer.close(),
    )
    await Promise.all([writer.ready(), peer.ready()])
    writer.on('error', () => {})
    await writer.set('k', 1)
    expect(await writer.remove('k')).toBe(true)
    expect(writer.stats().handles).toMatchObject({ memory: { removes: 1 }, shared: { removes: 1 } })
    await writer.set('k', 2)
    failRemove = true
    const removedRemotely = new Promise<void>((resolve) =>
      peer.on('remove', (event) => {
        if (event.origin === 'remote' && event.key === 'k') resolve()
      }),
    )
    await expect(writer.remove('k')).rejects.toMatchObject({ code: 'E_HANDLE_FAILED', source: 'memory' })
    expect(await shared.get('k', undefined)).toBeUndefined() // the bottom was still removed
    await removedRemotely // and the removal was still announced
    expect(writer.stats().handles).toMatchObject({
      memory: { removes: 1, errors: 1 },
      shared: { removes: 2 },
    })
  })

  it('writes the levels above with the version the asynchronous bottom stored', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    // An asynchronous bottom (like Redis): its version comes back through a promise.
    const bottom = failingHandle(shared).handle
    const cache = new CacheManager({ name: 'c', handles: [memory as CacheHandle<unknown>, bottom] })
    closers.push(() => cache.close())
    await cache.set('k', 'a', { expiration: { mode: 'sliding', ttl: 60_000 } })
    await cache.set('k', 'b', { expiration: { mode: 'sliding', ttl: 60_000 } })
    const stored = await shared.get('k', undefined)
    expect(stored).toMatchObject({ value: expect.any(Uint8Array), version: 2, mode: 'sliding', ttl: 60_000 })
    expect(memory.get('k', undefined)).toMatchObject({ value: 'b', version: 2, mode: 'sliding', ttl: 60_000 })
    expect(cache.stats().handles).toMatchObject({ memory: { sets: 2 }, shared: { sets: 2 } })
  })
})
