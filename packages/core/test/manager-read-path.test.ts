// The distributed-hit read path: a get that misses memory, reads a lower level and
// copies the item up. The error policy is applied inline there (not through `attempt`)
// and synchronous levels are copied into without a promise; these tests pin what that
// path must keep doing.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { type CacheEvents, type CacheHandle, CacheManager } from '../src/index.js'
import { failingHandle, spyHandle } from './sync-fixtures.js'

const caches: CacheManager<unknown>[] = []
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close()
})

function track<V>(cache: CacheManager<V>): CacheManager<V> {
  caches.push(cache as CacheManager<unknown>)
  return cache
}

describe('a get that misses memory and hits a lower level', () => {
  it('serves every read right under 64 concurrent reads through a 16-entry memory layer', async () => {
    const memory = memoryHandle({ name: 'memory', maxEntries: 16 })
    const store = failingHandle(memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>)
    const cache = track(new CacheManager<{ n: number }>({ name: 'c', handles: [memory, store.handle] }))
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`)
    for (const [i, key] of keys.entries()) await cache.set(key, { n: i })
    memory.clear()
    for (let round = 0; round < 3; round++) {
      const values = await Promise.all(keys.map((key) => cache.get(key)))
      expect(values).toEqual(keys.map((_, i) => ({ n: i })))
    }
    const stats = cache.stats().handles
    expect(stats.shared?.hits).toBeGreaterThanOrEqual(200)
    expect(stats.memory?.adds).toBe(stats.shared?.hits) // every lower hit was copied up
    expect(memory.size).toBe(16)
  })

  it('a copy-up into memory that throws is reported as copy-up and the read still returns the value', async () => {
    const inner = memoryHandle({ name: 'memory' })
    const memory = spyHandle(inner as CacheHandle<unknown>, {
      add: () => {
        throw new Error('out of memory')
      },
    })
    const store = failingHandle(memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>)
    const cache = track(new CacheManager<string>({ name: 'c', handles: [memory, store.handle] }))
    const errors: CacheEvents['error'][] = []
    cache.on('error', (e) => errors.push(e))
    await cache.set('k', 'v')
    inner.remove('k', undefined)
    expect(await cache.get('k')).toBe('v')
    expect(errors.map((e) => [e.operation, e.handle, e.error.code])).toEqual([
      ['copy-up', 'memory', 'E_HANDLE_FAILED'],
    ])
    expect(cache.stats().handles.memory).toMatchObject({ errors: 1, adds: 0 })
  })

  it('a failed lower read is counted against the circuit and reported as get, and reads fall back', async () => {
    const store = failingHandle(memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>)
    const cache = track(
      new CacheManager<string>({
        name: 'c',
        handles: [memoryHandle({ name: 'memory' }), store.handle],
        circuitBreaker: { failureThreshold: 2, resetAfterMs: 60_000 },
      }),
    )
    const seen: Array<[string, string | undefined, string]> = []
    cache.on('error', (e) => seen.push([e.operation, e.handle, e.error.code]))
    await cache.set('k', 'v')
    store.state.failing = true
    expect(await cache.get('a')).toBeUndefined()
    expect(await cache.get('b')).toBeUndefined()
    const calls = store.state.calls
    expect(await cache.get('c')).toBeUndefined()
    expect(store.state.calls).toBe(calls) // the open circuit failed fast
    expect(await cache.get('k')).toBe('v') // memory still answers
    expect(seen).toEqual([
      ['get', 'shared', 'E_HANDLE_FAILED'],
      ['get', 'shared', 'E_HANDLE_FAILED'],
      ['get', 'shared', 'E_CIRCUIT_OPEN'],
    ])
    expect(cache.stats().handles.shared).toMatchObject({ circuit: 'open', errors: 3, misses: 3 })
  })

  it('a hit two levels down is copied into both levels above: bytes as they are, objects decoded', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const middle = memoryHandle({ name: 'middle', distributed: true })
    const bottom = failingHandle(memoryHandle({ name: 'bottom', distributed: true }) as CacheHandle<unknown>)
    const cache = track(
      new CacheManager<{ a: number }>({
        name: 'c',
        handles: [memory, middle as CacheHandle<unknown>, bottom.handle],
      }),
    )
    await cache.set('k', { a: 1 }, { expiration: { mode: 'absolute', ttl: 60_000 } })
    memory.clear()
    middle.clear()
    const item = await cache.getItem('k')
    expect(item).toMatchObject({ value: { a: 1 }, level: 2 })
    const source = await bottom.handle.get('k', undefined)
    const copied = middle.get('k', undefined)
    expect(copied?.value).toEqual(source?.value) // the same bytes
    expect(copied?.version).toBe(source?.version)
    expect(copied?.expiresAt).toBe(source?.expiresAt)
    expect(memory.get('k', undefined)).toMatchObject({ value: { a: 1 }, version: source?.version })
    expect(await cache.getItem('k')).toMatchObject({ level: 0 })
  })

  it('a bytes copy fitted to a coarser level keeps every field of the source item', async () => {
    const inner = memoryHandle({ name: 'middle', distributed: true })
    // Seconds like Memcached: the copy's lifetime is rounded, so the item is rebuilt.
    const middle = spyHandle(inner as CacheHandle<unknown>, {
      capabilities: { ...inner.capabilities, ttlGranularityMs: 1_000 },
    })
    const bottom = failingHandle(memoryHandle({ name: 'bottom', distributed: true }) as CacheHandle<unknown>)
    const cache = track(new CacheManager<string>({ name: 'c', handles: [middle, bottom.handle] }))
    await cache.set('k', 'v', { expiration: { mode: 'absolute', ttl: 60_500 } })
    inner.clear()
    expect(await cache.get('k')).toBe('v')
    const source = await bottom.handle.get('k', undefined)
    const copied = inner.get('k', undefined)
    expect(copied?.created).toBe(source?.created)
    expect(copied?.version).toBe(source?.version)
    expect(copied?.ttl).toBe(61_000)
    expect(copied?.expiresAt).toBeGreaterThanOrEqual(source!.expiresAt)
  })
})
