import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type CacheHandle, CacheManager, type HandleCapabilities } from '../src/index.js'
import { fitItem, lifetimeLimits, newItem } from '../src/expiration.js'
import { CacheEmitter } from '../src/events.js'
import { waitFor } from '../src/testing/wait-for.js'
import { spyHandle } from './sync-fixtures.js'

const caches: CacheManager<unknown>[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const cache of caches.splice(0)) await cache.close()
})

const caps: HandleCapabilities = {
  distributed: true,
  bytes: true,
  cas: true,
  sliding: true,
  maxTtlMs: Number.POSITIVE_INFINITY,
  ttlGranularityMs: 1,
  clearRegion: 'scan',
  synchronous: false,
}

describe('fitting items to a handle', () => {
  const now = 1_000_000
  it('clamps to maxTtlMs and rounds up to the granularity', () => {
    const limits = lifetimeLimits({ ...caps, maxTtlMs: 30_000, ttlGranularityMs: 1_000 }, undefined)
    const item = fitItem(newItem('v', { mode: 'absolute', ttl: 60_000 }, now), limits, now)
    expect(item).toMatchObject({ mode: 'absolute', ttl: 30_000, expiresAt: now + 30_000 })
    const rounded = fitItem(newItem('v', { mode: 'absolute', ttl: 1_500 }, now), limits, now)
    expect(rounded).toMatchObject({ ttl: 2_000, expiresAt: now + 2_000 })
  })

  it('stores sliding as absolute where the handle cannot slide', () => {
    const limits = lifetimeLimits({ ...caps, sliding: false }, undefined)
    expect(fitItem(newItem('v', { mode: 'sliding', ttl: 5_000 }, now), limits, now)).toMatchObject({
      mode: 'absolute',
      ttl: 5_000,
      expiresAt: now + 5_000,
    })
  })

  it('maxLocalTtlMs caps local handles only, turning none and sliding into absolute', () => {
    const local = lifetimeLimits({ ...caps, distributed: false }, 10_000)
    const shared = lifetimeLimits(caps, 10_000)
    expect(fitItem(newItem('v', { mode: 'none' }, now), local, now)).toMatchObject({
      mode: 'absolute',
      ttl: 10_000,
    })
    expect(fitItem(newItem('v', { mode: 'sliding', ttl: 60_000 }, now), local, now)).toMatchObject({
      mode: 'absolute',
      ttl: 10_000,
      expiresAt: now + 10_000,
    })
    expect(fitItem(newItem('v', { mode: 'none' }, now), shared, now)).toMatchObject({
      mode: 'none',
      expiresAt: 0,
    })
  })

  it('keeps a copy’s remaining lifetime and drops an already expired one', () => {
    const limits = lifetimeLimits(caps, undefined)
    const copy = {
      value: 'v',
      mode: 'absolute' as const,
      ttl: 10_000,
      expiresAt: now + 4_000,
      created: now - 6_000,
    }
    expect(fitItem(copy, limits, now)).toBe(copy)
    expect(fitItem({ ...copy, expiresAt: now - 1 }, limits, now)).toBeUndefined()
  })
})

describe('expiration through the manager', () => {
  it('applies the manager default, a per-item override, and none', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const cache = new CacheManager({
      name: 'c',
      handles: [memory],
      expiration: { mode: 'absolute', ttl: 60_000 },
    })
    caches.push(cache)
    await cache.set('default', 1)
    await cache.set('override', 1, { expiration: { mode: 'sliding', ttl: 5_000 } })
    await cache.set('forever', 1, { expiration: { mode: 'none' } })
    expect(await cache.getItem('default')).toMatchObject({ mode: 'absolute', ttl: 60_000, level: 0 })
    expect(await cache.getItem('override')).toMatchObject({ mode: 'sliding', ttl: 5_000 })
    expect(await cache.getItem('forever')).toMatchObject({ mode: 'none', ttl: 0, expiresAt: 0 })
    expect(await cache.expire('forever', { mode: 'absolute', ttl: 1_000 })).toBe(true)
    expect(await cache.getItem('forever')).toMatchObject({ mode: 'absolute', ttl: 1_000 })
    expect(await cache.expire('absent', { mode: 'absolute', ttl: 1_000 })).toBe(false)
  })

  it('maxLocalTtlMs caps the memory copy while the shared copy keeps its lifetime', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const cache = new CacheManager({ name: 'c', handles: [memory, shared], maxLocalTtlMs: 2_000 })
    caches.push(cache)
    await cache.set('k', 1)
    expect(memory.get('k', undefined)).toMatchObject({ mode: 'absolute', ttl: 2_000 })
    expect(await shared.get('k', undefined)).toMatchObject({ mode: 'none', expiresAt: 0 })
  })

  it('sliding items served from memory touch the distributed copy at most once per ratio of the TTL', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    let touches = 0
    const spied = spyHandle(shared, {
      touch: (key, region) => {
        touches++
        return shared.touch!(key, region)
      },
    })
    const cache = new CacheManager({ name: 'c', handles: [memory, spied], slidingTouchRatio: 0.5 })
    caches.push(cache)
    await cache.set('k', 1, { expiration: { mode: 'sliding', ttl: 60_000 } })
    await cache.get('k')
    await cache.get('k')
    expect(touches).toBe(1)
    // Half the TTL later (simulated clock) the next memory hit touches again.
    const start = Date.now()
    vi.spyOn(Date, 'now').mockReturnValue(start + 31_000)
    await cache.get('k')
    await cache.get('k')
    expect(touches).toBe(2)
  })

  it('a touch the store answers with no item evicts the copy above: read often, it no longer lives on alone', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const cache = new CacheManager({ name: 'c', handles: [memory, shared], slidingTouchRatio: 0.5 })
    caches.push(cache)
    await cache.set('k', 1, { expiration: { mode: 'sliding', ttl: 60_000 } })
    // The store lets the item go (evicted under memory pressure, deleted by another program).
    shared.remove('k', undefined)
    expect(cache.peek('k')).toBe(1) // the copy above, slid by the hit; the touch finds nothing
    await waitFor(() => memory.get('k', undefined) === undefined, { message: 'the copy above evicted' })
    expect(await cache.get('k')).toBeUndefined()
  })
})

describe('events cost nothing without listeners', () => {
  it('no payload is emitted on the read and write paths when nobody listens', async () => {
    const emit = vi.spyOn(CacheEmitter.prototype, 'emit')
    const cache = new CacheManager({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' })] as CacheHandle<unknown>[],
    })
    caches.push(cache)
    await cache.set('k', 1)
    await cache.get('k')
    await cache.get('missing')
    await cache.remove('k')
    expect(emit).not.toHaveBeenCalled()
    const seen: unknown[] = []
    cache.on('get', (e) => seen.push(e))
    await cache.get('missing')
    expect(seen).toEqual([{ key: 'missing', region: undefined, level: -1, handle: undefined }])
    const listener = (e: unknown) => seen.push(e)
    cache.on('set', listener)
    cache.off('set', listener)
    await cache.set('k', 2)
    expect(seen).toHaveLength(1)
  })

  it('stats count per handle', async () => {
    const cache = new CacheManager({
      name: 'c',
      handles: [
        memoryHandle({ name: 'memory' }),
        memoryHandle({ name: 'shared', distributed: true }),
      ] as CacheHandle<unknown>[],
    })
    caches.push(cache)
    await cache.set('k', 1)
    await cache.get('k')
    await cache.get('absent')
    await cache.add('k', 2)
    await cache.remove('k')
    await cache.clear()
    const { handles, backplane } = cache.stats()
    expect(backplane).toBeUndefined()
    expect(handles.memory).toMatchObject({ sets: 1, hits: 1, misses: 1, removes: 1, clears: 1, errors: 0 })
    expect(handles.shared).toMatchObject({ sets: 1, hits: 0, misses: 1, removes: 1, clears: 1 })
  })
})
