import { afterEach, describe, expect, it } from 'vitest'
import { type Cluster, cluster } from './sync-fixtures.js'

let c: Cluster | undefined
afterEach(async () => {
  await c?.close()
  c = undefined
})

describe('concurrent writers', () => {
  it('4 concurrent updaters x 500 increments end at exactly 2,000', async () => {
    c = await cluster(4, { extra: { updateRetries: 10_000 } })
    await c.managers[0]!.set('counter', 0)
    await Promise.all(
      c.managers.map(async (m) => {
        for (let i = 0; i < 500; i++) await m.update('counter', (v) => (v as number) + 1)
      }),
    )
    for (const m of c.managers) expect(await m.get('counter')).toBe(2_000)
  })

  it('50 concurrent getOrAdd calls on one key run the factory once and all get the same value', async () => {
    c = await cluster(1)
    const cache = c.managers[0]!
    let calls = 0
    const factory = async (key: string) => {
      calls++
      await new Promise((resolve) => setImmediate(resolve))
      return { key, token: Math.random() }
    }
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.getOrAdd('k', factory)))
    expect(calls).toBe(1)
    for (const result of results) expect(result).toBe(results[0])
    expect(await cache.get('k')).toEqual(results[0])
  })

  it('across instances, the value that wins the bottom add is what every caller gets', async () => {
    c = await cluster(3)
    const calls = [0, 0, 0]
    const results = await Promise.all(
      c.managers.flatMap((m, i) =>
        Array.from({ length: 20 }, () =>
          m.getOrAdd('k', async () => {
            calls[i]!++
            await new Promise((resolve) => setImmediate(resolve))
            return { by: i }
          }),
        ),
      ),
    )
    for (const n of calls) expect(n).toBeLessThanOrEqual(1)
    for (const result of results) expect(result).toEqual(results[0])
    for (const m of c.managers) expect(await m.get('k')).toEqual(results[0])
  })

  it('addOrUpdate adds when absent and updates otherwise, concurrently without losing a write', async () => {
    c = await cluster(3, { extra: { updateRetries: 10_000 } })
    await Promise.all(
      c.managers.map(async (m) => {
        for (let i = 0; i < 50; i++) await m.addOrUpdate('n', 1, (v) => (v as number) + 1)
      }),
    )
    expect(await c.managers[1]!.get('n')).toBe(150)
  })
})

describe('update and tryUpdate outcomes', () => {
  it('missing, factory-returned-undefined and conflict', async () => {
    c = await cluster(1)
    const cache = c.managers[0]!
    expect(await cache.tryUpdate('absent', (v) => v)).toEqual({ ok: false, reason: 'missing' })
    await expect(cache.update('absent', (v) => v)).rejects.toMatchObject({ code: 'E_UPDATE_MISSING' })
    await cache.set('k', 1)
    expect(await cache.tryUpdate('k', () => undefined as unknown)).toEqual({
      ok: false,
      reason: 'factory-returned-undefined',
    })
    await expect(cache.update('k', () => undefined as unknown)).rejects.toMatchObject({
      code: 'E_FACTORY_UNDEFINED',
    })
    // Another writer changes the item inside every attempt: retries run out.
    let round = 0
    const result = await cache.tryUpdate(
      'k',
      async (v) => {
        await c!.managers[0]!.set('k', 100 + round++)
        return (v as number) + 1
      },
      { maxRetries: 3 },
    )
    expect(result).toEqual({ ok: false, reason: 'conflict' })
    expect(round).toBe(4)
    await expect(
      cache.update(
        'k',
        async (v) => {
          await cache.set('k', 0)
          return v
        },
        { maxRetries: 0 },
      ),
    ).rejects.toMatchObject({ code: 'E_UPDATE_CONFLICT' })
    expect(await cache.tryUpdate('k', (v) => (v as number) + 1)).toEqual({ ok: true, value: 1 })
  })

  it('getOrAdd whose factory returns undefined throws FactoryUndefinedError and caches nothing', async () => {
    c = await cluster(1)
    const cache = c.managers[0]!
    await expect(cache.getOrAdd('k', () => undefined as unknown)).rejects.toMatchObject({
      code: 'E_FACTORY_UNDEFINED',
    })
    expect(await cache.has('k')).toBe(false)
  })
})

describe('bottom-only corners', () => {
  it('update needs compare-and-set on the bottom handle', async () => {
    const { memoryHandle } = await import('@cacheplane/memory')
    const { CacheManager } = await import('../src/index.js')
    const { spyHandle } = await import('./sync-fixtures.js')
    const inner = memoryHandle({ name: 'nocas' })
    const handle = spyHandle(inner, { capabilities: { ...inner.capabilities, cas: false } })
    const cache = new CacheManager({ name: 'c', handles: [handle] })
    try {
      await cache.set('k', 1)
      await expect(cache.update('k', (v) => v)).rejects.toMatchObject({
        code: 'E_NOT_SUPPORTED',
        source: 'nocas',
      })
    } finally {
      await cache.close()
    }
  })

  it('getOrAdd retries when the winner vanished between our failed add and our read', async () => {
    const { memoryHandle } = await import('@cacheplane/memory')
    const { CacheManager } = await import('../src/index.js')
    const { spyHandle } = await import('./sync-fixtures.js')
    const inner = memoryHandle({ name: 'shared', distributed: true })
    let adds = 0
    const handle = spyHandle(inner, {
      // The first add loses to a writer whose item is gone again by the time we read.
      add: (key, region, item) => (++adds === 1 ? false : inner.add(key, region, item)),
    })
    const cache = new CacheManager({ name: 'c', handles: [memoryHandle({ name: 'memory' }), handle] })
    try {
      expect(await cache.getOrAdd('k', () => 'mine')).toBe('mine')
      expect(adds).toBe(2)
      expect(await cache.get('k')).toBe('mine')
    } finally {
      await cache.close()
    }
  })
})
