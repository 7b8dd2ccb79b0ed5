import { channel, tracingChannel } from 'node:diagnostics_channel'
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { CacheManager } from '../src/index.js'
import type { TopHit, TraceContext } from '../src/tracing.js'

const caches: CacheManager<unknown>[] = []
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close()
})

describe('diagnostics_channel tracing', () => {
  it('traces operations on cacheplane.<operation> with cache, key and region, only while subscribed', async () => {
    const cache = new CacheManager({ name: 'traced', handles: [memoryHandle({ name: 'memory' })] })
    caches.push(cache)
    const seen: Array<{ phase: string; context: TraceContext }> = []
    const handlers = {
      start: (context: TraceContext) => seen.push({ phase: 'start', context: { ...context } }),
      asyncEnd: (context: TraceContext) => seen.push({ phase: 'asyncEnd', context: { ...context } }),
      error: (context: TraceContext) => seen.push({ phase: 'error', context: { ...context } }),
      end: () => {},
      asyncStart: () => {},
    }
    const set = tracingChannel<TraceContext>('cacheplane.set')
    const clearRegion = tracingChannel<TraceContext>('cacheplane.clearRegion')
    await cache.set('before', 1)
    set.subscribe(handlers)
    clearRegion.subscribe(handlers)
    try {
      await cache.set('k', 1, { region: 'eu' })
      await cache.get('k', { region: 'eu' }) // not subscribed: not traced
      await cache.clearRegion('eu')
      await expect(cache.set('', 1)).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
    } finally {
      set.unsubscribe(handlers)
      clearRegion.unsubscribe(handlers)
    }
    await cache.set('after', 1)
    expect(seen.map((s) => [s.phase, s.context.operation, s.context.key, s.context.region])).toEqual([
      ['start', 'set', 'k', 'eu'],
      ['asyncEnd', 'set', 'k', 'eu'],
      ['start', 'clearRegion', undefined, 'eu'],
      ['asyncEnd', 'clearRegion', undefined, 'eu'],
      ['start', 'set', '', undefined],
      ['error', 'set', '', undefined],
      ['asyncEnd', 'set', '', undefined],
    ])
    expect(seen.every((s) => s.context.cache === 'traced')).toBe(true)
  })

  it('traces bulk calls on cacheplane.getMany / setMany / removeMany, without keys as attributes', async () => {
    const cache = new CacheManager({ name: 'bulk-traced', handles: [memoryHandle({ name: 'memory' })] })
    caches.push(cache)
    const seen: Array<[string, string, string | undefined, string | undefined]> = []
    const handlers = {
      start: (context: TraceContext) => seen.push(['start', context.operation, context.key, context.region]),
      asyncEnd: (context: TraceContext) => seen.push(['end', context.operation, context.key, context.region]),
      end: () => {},
      asyncStart: () => {},
      error: () => {},
    }
    const channels = ['getMany', 'setMany', 'removeMany'].map((op) =>
      tracingChannel<TraceContext>(`cacheplane.${op}`),
    )
    for (const c of channels) c.subscribe(handlers)
    try {
      await cache.setMany([{ key: 'a', value: 1 }], { region: 'eu' })
      expect(await cache.getMany(['a', 'b'], { region: 'eu' })).toEqual([1, undefined])
      await cache.removeMany(['a'])
    } finally {
      for (const c of channels) c.unsubscribe(handlers)
    }
    expect(seen).toEqual([
      ['start', 'setMany', undefined, 'eu'],
      ['end', 'setMany', undefined, 'eu'],
      ['start', 'getMany', undefined, 'eu'],
      ['end', 'getMany', undefined, 'eu'],
      ['start', 'removeMany', undefined, undefined],
      ['end', 'removeMany', undefined, undefined],
    ])
  })

  it('publishes fast-path top hits on cacheplane.topHit instead of tracing them; the rest of a read is traced', async () => {
    const shared = memoryHandle({ name: 'shared', distributed: true })
    const cache = new CacheManager<number>({
      name: 'hits',
      handles: [memoryHandle({ name: 'memory' }), shared],
      shared: [shared],
    })
    caches.push(cache)
    await cache.set('k', 1, { region: 'eu' })
    const seen: string[] = []
    const onHit = (message: unknown) => {
      const { operation, cache, key, region, handle } = message as TopHit
      seen.push(`topHit ${operation} ${cache} ${key} ${region} ${handle}`)
    }
    const traceHandlers = (name: string) => ({
      start: (c: TraceContext) => seen.push(`start ${name} ${c.key} ${c.region}`),
      asyncEnd: (c: TraceContext & { result?: unknown }) => seen.push(`asyncEnd ${name} ${String(c.result)}`),
      end: () => {},
      asyncStart: () => {},
      error: () => {},
    })
    const topHit = channel('cacheplane.topHit')
    const get = tracingChannel<TraceContext>('cacheplane.get')
    const getOrAdd = tracingChannel<TraceContext>('cacheplane.getOrAdd')
    const getHandlers = traceHandlers('get')
    const getOrAddHandlers = traceHandlers('getOrAdd')
    topHit.subscribe(onHit)
    get.subscribe(getHandlers)
    getOrAdd.subscribe(getOrAddHandlers)
    try {
      expect(await cache.get('k', { region: 'eu' })).toBe(1)
      expect(await cache.getOrAdd('j', async () => 2)).toBe(2)
      expect(await cache.getOrAdd('j', async () => 3)).toBe(2)
      expect(await cache.get('absent')).toBeUndefined()
    } finally {
      topHit.unsubscribe(onHit)
      get.unsubscribe(getHandlers)
      getOrAdd.unsubscribe(getOrAddHandlers)
    }
    expect(await cache.get('k', { region: 'eu' })).toBe(1) // nobody listens: nothing published
    expect(seen).toEqual([
      'topHit get hits k eu memory',
      'start getOrAdd j undefined',
      'asyncEnd getOrAdd 2',
      'topHit getOrAdd hits j undefined memory',
      'start get absent undefined',
      'asyncEnd get undefined',
    ])
  })
})
