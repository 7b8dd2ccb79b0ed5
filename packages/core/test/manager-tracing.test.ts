import { tracingChannel } from 'node:diagnostics_channel'
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { CacheManager } from '../src/index.js'
import type { TraceContext } from '../src/tracing.js'

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
})
