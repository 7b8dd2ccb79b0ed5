import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { chaosBackplane, chaosHandle } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { expect, test } from 'vitest'
import { main as events } from '../examples/operations/events.js'
import { alerts, hitRatio } from '../examples/operations/stats.js'
import { main as tracing } from '../examples/operations/tracing.js'

test('events: evictions, reads with their level, writes', async () => {
  expect(await events()).toEqual([
    'set a local',
    'evict a evicted from memory',
    'set b local',
    'evict b evicted from memory',
    'get a level 1',
    'get nope level -1',
  ])
})

test('tracing: subscribed operations only, with a duration', async () => {
  const spans = await tracing()
  expect(spans.map((span) => span.name)).toEqual([
    'traced set a',
    'traced get a (memory hit)',
    'traced get b',
  ])
  expect(spans.every((span) => span.ns >= 0n)).toBe(true)
})

test('alerts from stats: an open circuit, errors, a gap, failing publishes', async () => {
  const store = chaosHandle(memoryHandle({ name: 'store', distributed: true }))
  const backplane = chaosBackplane(memoryBackplane({ hub: createBackplaneHub() }))
  const cache = new CacheManager<string>({
    name: 'watched',
    handles: [memoryHandle(), store],
    backplane,
    circuitBreaker: { failureThreshold: 2, resetAfterMs: 60_000 },
  })
  await cache.ready()
  await cache.set('k', 'v')
  await cache.get('k')
  const before = cache.stats()
  expect(alerts(before, before, 1)).toEqual([])
  expect(hitRatio(before, before, 'memory')).toBeUndefined()

  store.failAlways()
  for (const key of ['a', 'b', 'c']) await cache.get(key)
  backplane.emitGap({ reason: 'reconnect' })
  backplane.failPublishes(1)
  await cache.remove('k').catch(() => {})
  await cache.flush()
  const after = cache.stats()
  expect(alerts(before, after, 1)).toEqual([
    'store: circuit open',
    'store: 4.0 errors/s', // two failures, then two fast failures of the open circuit
    'backplane: 1 gap(s)',
    'backplane: publishes failing',
  ])
  await cache.close()
})
