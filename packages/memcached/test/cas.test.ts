import { CacheManager } from '@cacheplane/core'
import { randomKey } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { memcachedHandle } from '../src/index.js'
import { boundHandle, item, memcachedServers } from './helpers.js'

const closers: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

describe('compare-and-set', () => {
  it('keeps exact totals when four managers increment one counter 100 times each', async () => {
    const name = randomKey('cas')
    const managers = Array.from({ length: 4 }, () => {
      const cache = new CacheManager<number>({
        name,
        handles: [memoryHandle({ maxEntries: 100 }), memcachedHandle({ servers: memcachedServers() })],
        updateRetries: 10_000,
      })
      closers.push(() => cache.close())
      return cache
    })
    await managers[0]!.set('counter', 0)
    await Promise.all(
      managers.map(async (cache) => {
        for (let i = 0; i < 100; i++) await cache.update('counter', (n) => n + 1)
      }),
    )
    // A fresh manager reads the shared copy, not anyone's memory layer.
    const check = new CacheManager<number>({
      name,
      handles: [memcachedHandle({ servers: memcachedServers() })],
    })
    closers.push(() => check.close())
    const counter = await check.getItem('counter')
    expect(counter?.value).toBe(400)
  })

  it('detects a concurrent write between read and update (version or CAS token)', async () => {
    const cacheName = randomKey('cas')
    const a = boundHandle({}, cacheName)
    const b = boundHandle({}, cacheName)
    closers.push(
      () => a.close(),
      () => b.close(),
    )
    expect(await a.update('k', undefined, 1, item('x'))).toEqual({ status: 'missing' })
    const version = await a.set('k', undefined, item('one'))
    await b.set('k', undefined, item('two'))
    expect(await a.update('k', undefined, version, item('lost'))).toEqual({ status: 'conflict' })
    const current = (await a.get('k', undefined))!.version
    const outcome = await a.update('k', undefined, current, item('three'))
    const next = outcome.status === 'ok' ? outcome.version : current
    expect(next).not.toBe(current)
    expect((await b.get('k', undefined))?.version).toBe(next)
    // A given version is stored as is (copies keep their source's version).
    expect(await a.update('k', undefined, next, { ...item('four'), version: 42 })).toEqual({
      status: 'ok',
      version: 42,
    })
  })

  it('gives concurrent sets distinct versions, one write each', async () => {
    const cacheName = randomKey('cas')
    const handles = Array.from({ length: 4 }, () => boundHandle({}, cacheName))
    closers.push(...handles.map((h) => () => h.close()))
    const versions = (
      await Promise.all(
        handles.map(async (h) => {
          const mine: number[] = []
          for (let i = 0; i < 25; i++) mine.push(await h.set('k', undefined, item(`v${i}`)))
          return mine
        }),
      )
    ).flat()
    expect(new Set(versions).size).toBe(100)
    expect(versions).toContain((await handles[0]!.get('k', undefined))?.version)
  })

  it('lets exactly one of several concurrent adds win', async () => {
    const cacheName = randomKey('cas')
    const handles = Array.from({ length: 4 }, () => boundHandle({}, cacheName))
    closers.push(...handles.map((h) => () => h.close()))
    const results = await Promise.all(handles.map((h, i) => h.add('k', undefined, item(`h${i}`))))
    expect(results.filter(Boolean)).toHaveLength(1)
  })
})
