// Fail-safe getOrAdd: stale-on-error with a throttle window, typed errors without a graced
// value, the factory context (signal, stale, setExpiration, skip, fail), soft and hard
// timeouts with background completion, and eager refresh. vitest fakes Date, setTimeout
// and clearTimeout (the backplane hub delivers with setImmediate, which stays real), so
// every timeout and window boundary is exact.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type CacheEvents,
  type CacheHandle,
  CacheManager,
  type CacheManagerOptions,
  errors,
  type FactoryContext,
} from '../src/index.js'
import { cluster, type Cluster, failingHandle, nextEvent } from './sync-fixtures.js'

const TTL = 1_000
const GRACE = 60_000
const expiration = { mode: 'absolute', ttl: TTL } as const

const caches: CacheManager<unknown>[] = []
const clusters: Cluster[] = []
beforeEach(() => {
  vi.useFakeTimers({ now: Date.now(), toFake: ['Date', 'setTimeout', 'clearTimeout'] })
})
afterEach(async () => {
  vi.useRealTimers()
  for (const cache of caches.splice(0)) await cache.close()
  for (const c of clusters.splice(0)) await c.close()
})

function memoryOnly(extra: Partial<CacheManagerOptions> = {}): CacheManager<unknown> {
  const cache = new CacheManager<unknown>({
    name: 'users',
    handles: [memoryHandle({ name: 'memory' }) as CacheHandle<unknown>],
    expiration,
    grace: GRACE,
    ...extra,
  })
  caches.push(cache)
  return cache
}

/** Collects every payload of `event`. */
function collect<E extends keyof CacheEvents>(cache: CacheManager<unknown>, event: E): CacheEvents[E][] {
  const seen: CacheEvents[E][] = []
  cache.on(event, (e) => seen.push(e))
  return seen
}

/** A factory that resolves `value` after `ms` (fake time), recording its context. */
function slow(value: unknown, ms: number) {
  const contexts: FactoryContext<unknown>[] = []
  const factory = (_key: string, _region: string | undefined, ctx: FactoryContext<unknown>) => {
    contexts.push(ctx)
    return new Promise((resolve) => setTimeout(() => resolve(value), ms))
  }
  return { factory, contexts }
}

/** Sets `k` to `v1`, then moves the clock past its expiry: only a graced value is left. */
async function staleV1(cache: CacheManager<unknown>): Promise<void> {
  await cache.set('k', 'v1')
  vi.advanceTimersByTime(TTL)
  expect(await cache.get('k')).toBeUndefined()
}

describe('fail-safe', () => {
  it('a failing factory serves the graced value, then the throttle window keeps the factory idle', async () => {
    const cache = memoryOnly({ failSafeThrottleMs: 5_000 })
    const events = collect(cache, 'failSafe')
    await staleV1(cache)
    const boom = new Error('db down')
    let calls = 0
    const factory = () => {
      calls++
      throw boom
    }
    expect(await cache.getOrAdd('k', factory)).toBe('v1')
    expect(events[0]).toMatchObject({ key: 'k', reason: 'factory-failed', error: boom })
    for (let i = 0; i < 1_000; i++) expect(await cache.getOrAdd('k', factory)).toBe('v1')
    expect(calls).toBe(1)
    expect(events.at(-1)).toMatchObject({ reason: 'throttled' })
    vi.advanceTimersByTime(4_999)
    await cache.getOrAdd('k', factory)
    expect(calls).toBe(1)
    vi.advanceTimersByTime(1) // the window is over: the source is tried again
    await cache.getOrAdd('k', factory)
    expect(calls).toBe(2)
    expect(cache.stats().factory).toMatchObject({ calls: 2, errors: 2, failSafe: 1_003 })
  })

  it('without a graced value a failing factory rejects with FactoryError (cause: its error)', async () => {
    const cache = memoryOnly()
    const boom = new Error('db down')
    const failure = cache.getOrAdd('k', () => Promise.reject(boom))
    await expect(failure).rejects.toThrow(errors.E_FACTORY_FAILED)
    await expect(failure).rejects.toMatchObject({ cause: boom })
    await expect(cache.getOrAdd('k', () => undefined as unknown)).rejects.toThrow(errors.E_FACTORY_UNDEFINED)
  })

  it('ctx.fail takes the fail-safe path without throwing', async () => {
    const cache = memoryOnly()
    await staleV1(cache)
    const why = new Error('upstream 503')
    expect(await cache.getOrAdd('k', (_k, _r, ctx) => ctx.fail(why))).toBe('v1')
    await expect(cache.getOrAdd('other', (_k, _r, ctx) => ctx.fail(why))).rejects.toMatchObject({
      code: 'E_FACTORY_FAILED',
      cause: why,
    })
  })

  it('a store that fails during the read serves the graced value without calling the factory', async () => {
    const shared = failingHandle(memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>)
    const cache = memoryOnly({
      handles: [memoryHandle({ name: 'memory' }) as CacheHandle<unknown>, shared.handle],
    })
    const events = collect(cache, 'failSafe')
    await staleV1(cache)
    shared.state.failing = true
    let calls = 0
    expect(await cache.getOrAdd('k', () => ++calls)).toBe('v1')
    expect(calls).toBe(0)
    expect(events[0]).toMatchObject({ reason: 'store-failed' })
    shared.state.failing = false
    vi.advanceTimersByTime(30_000) // the default throttle window
    expect(await cache.getOrAdd('k', () => 'v2')).toBe('v2')
  })

  it('a removed value is never a fail-safe answer', async () => {
    const cache = memoryOnly()
    await staleV1(cache)
    await cache.remove('k')
    await expect(cache.getOrAdd('k', () => Promise.reject(new Error('x')))).rejects.toThrow(
      errors.E_FACTORY_FAILED,
    )
    await cache.set('k', 'v1')
    vi.advanceTimersByTime(TTL)
    await cache.clear()
    await expect(cache.getOrAdd('k', () => Promise.reject(new Error('x')))).rejects.toThrow(
      errors.E_FACTORY_FAILED,
    )
  })
})

describe('the factory context', () => {
  it('a (key, region) factory still gets the key and region; the context comes third', async () => {
    const cache = memoryOnly()
    const seen: unknown[] = []
    await cache.getOrAdd(
      'k',
      (key, region, ctx) => {
        seen.push(key, region, ctx.key, ctx.region, ctx.hasStale, ctx.signal.aborted)
        return 1
      },
      { region: 'r' },
    )
    expect(seen).toEqual(['k', 'r', 'k', 'r', false, false])
    expect(await cache.getOrAdd('j', (key: string) => key.toUpperCase())).toBe('J')
  })

  it('ctx.stale is the graced value; a refresh over it is written and served fresh', async () => {
    const cache = memoryOnly()
    await staleV1(cache)
    let stale: unknown
    expect(
      await cache.getOrAdd('k', (_k, _r, ctx) => {
        stale = ctx.stale
        return 'v2'
      }),
    ).toBe('v2')
    expect(stale).toBe('v1')
    expect(await cache.get('k')).toBe('v2')
  })

  it('ctx.setExpiration decides the lifetime from the value (adaptive caching)', async () => {
    const cache = memoryOnly()
    await cache.getOrAdd('k', (_k, _r, ctx) => {
      ctx.setExpiration({ mode: 'absolute', ttl: 50 }, 100)
      return 'short'
    })
    expect(await cache.getItem('k')).toMatchObject({ ttl: 50, grace: 100 })
    vi.advanceTimersByTime(50)
    expect(await cache.get('k', { allowStale: true })).toBe('short')
    vi.advanceTimersByTime(100)
    expect(await cache.get('k', { allowStale: true })).toBeUndefined()
  })

  it('ctx.skip returns the value without caching it', async () => {
    const cache = memoryOnly()
    let calls = 0
    const factory = (_k: string, _r: string | undefined, ctx: FactoryContext<unknown>) => {
      ctx.skip()
      return ++calls
    }
    expect(await cache.getOrAdd('k', factory)).toBe(1)
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getOrAdd('k', factory)).toBe(2)
  })
})

describe('timeouts', () => {
  it('soft timeout: the caller gets the graced value at the deadline; the late result is written and propagates', async () => {
    const c = await cluster(2, { extra: { expiration, grace: GRACE, softTimeoutMs: 100 } })
    clusters.push(c)
    const [a, b] = c.managers as [CacheManager<unknown>, CacheManager<unknown>]
    await a.set('k', 'v1')
    expect(await b.get('k')).toBe('v1')
    vi.advanceTimersByTime(TTL)
    const timeouts = collect(a, 'factoryTimeout')
    const { factory } = slow('v2', 500)
    const call = a.getOrAdd('k', factory)
    await vi.advanceTimersByTimeAsync(99)
    expect(timeouts).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(await call).toBe('v1')
    expect(timeouts).toEqual([{ key: 'k', region: undefined, reason: 'soft' }])
    // Meanwhile other callers get the graced value without a second factory call.
    expect(await a.getOrAdd('k', () => 'never')).toBe('v1')
    const heard = nextEvent(b, 'set', (e) => e.origin === 'remote')
    await vi.advanceTimersByTimeAsync(400)
    await heard
    expect(await b.get('k')).toBe('v2')
    expect(await a.get('k')).toBe('v2')
    expect(a.stats().factory).toMatchObject({ softTimeouts: 1, backgroundWrites: 1, calls: 1 })
  })

  it('soft timeout does not apply without a graced value', async () => {
    const cache = memoryOnly({ softTimeoutMs: 100 })
    const call = cache.getOrAdd('k', slow('v', 500).factory)
    let settled = false
    void call.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(499)
    expect(settled).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(await call).toBe('v')
  })

  it('hard timeout: FactoryTimeoutError, and the late result is still stored', async () => {
    const cache = memoryOnly({ hardTimeoutMs: 200 })
    const { factory, contexts } = slow('late', 500)
    const call = cache.getOrAdd('k', factory)
    const rejected = expect(call).rejects.toThrow(errors.E_FACTORY_TIMEOUT)
    await vi.advanceTimersByTimeAsync(200)
    await rejected
    expect(contexts[0]!.signal.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(300)
    expect(await cache.get('k')).toBe('late')
  })

  it('hard timeout without background completion aborts the signal and stores nothing', async () => {
    const cache = memoryOnly()
    const { factory, contexts } = slow('late', 500)
    const call = cache.getOrAdd('k', factory, { hardTimeoutMs: 200, backgroundCompletion: false })
    const rejected = expect(call).rejects.toThrow(errors.E_FACTORY_TIMEOUT)
    await vi.advanceTimersByTimeAsync(200)
    await rejected
    expect(contexts[0]!.signal.aborted).toBe(true)
    expect(contexts[0]!.signal.reason).toBeInstanceOf(errors.E_FACTORY_TIMEOUT)
    await vi.advanceTimersByTimeAsync(300)
    expect(await cache.get('k')).toBeUndefined()
  })

  it('soft then hard: the graced value at the soft deadline, the factory aborted at the hard one', async () => {
    const cache = memoryOnly({ softTimeoutMs: 100, hardTimeoutMs: 300, backgroundCompletion: false })
    const timeouts = collect(cache, 'factoryTimeout')
    await staleV1(cache)
    const { factory, contexts } = slow('v2', 1_000)
    const call = cache.getOrAdd('k', factory)
    await vi.advanceTimersByTimeAsync(100)
    expect(await call).toBe('v1')
    expect(contexts[0]!.signal.aborted).toBe(false)
    await vi.advanceTimersByTimeAsync(200)
    expect(contexts[0]!.signal.aborted).toBe(true)
    expect(timeouts.map((t) => t.reason)).toEqual(['soft', 'hard'])
    await vi.advanceTimersByTimeAsync(700)
    expect(await cache.get('k', { allowStale: true })).toBe('v1')
  })

  it('a hard timeout with a graced value serves it', async () => {
    const cache = memoryOnly({ hardTimeoutMs: 100 })
    const events = collect(cache, 'failSafe')
    await staleV1(cache)
    const call = cache.getOrAdd('k', slow('v2', 500).factory)
    await vi.advanceTimersByTimeAsync(100)
    expect(await call).toBe('v1')
    expect(events[0]).toMatchObject({ reason: 'hard-timeout' })
  })
})

describe('close', () => {
  it('aborts the signal of a factory still running in the background', async () => {
    const cache = memoryOnly({ softTimeoutMs: 10 })
    await staleV1(cache)
    const { factory, contexts } = slow('v2', 1_000)
    const call = cache.getOrAdd('k', factory)
    await vi.advanceTimersByTimeAsync(10)
    expect(await call).toBe('v1')
    expect(contexts[0]!.signal.aborted).toBe(false)
    caches.splice(caches.indexOf(cache), 1)
    await cache.close()
    expect(contexts[0]!.signal.aborted).toBe(true)
    expect(contexts[0]!.signal.reason).toBeInstanceOf(errors.E_CLOSED)
  })
})

describe('eager refresh', () => {
  it('100 concurrent hits past the threshold: one factory call, old value served, the result propagates', async () => {
    const c = await cluster(2, { extra: { expiration, grace: GRACE, eagerRefresh: 0.8 } })
    clusters.push(c)
    const [a, b] = c.managers as [CacheManager<unknown>, CacheManager<unknown>]
    await a.set('k', 'v1')
    expect(await b.get('k')).toBe('v1')
    const refreshes = collect(a, 'eagerRefresh')
    let calls = 0
    const factory = () => {
      calls++
      return new Promise((resolve) => setTimeout(() => resolve('v2'), 50))
    }
    vi.advanceTimersByTime(799)
    expect(await a.getOrAdd('k', factory)).toBe('v1')
    expect(calls).toBe(0) // below 80%
    vi.advanceTimersByTime(1)
    const answers = await Promise.all(Array.from({ length: 100 }, () => a.getOrAdd('k', factory)))
    expect(new Set(answers)).toEqual(new Set(['v1']))
    expect(calls).toBe(1)
    const heard = nextEvent(b, 'set', (e) => e.origin === 'remote')
    await vi.advanceTimersByTimeAsync(50)
    await heard
    expect(await b.get('k')).toBe('v2')
    expect(refreshes.map((r) => r.reason)).toEqual(['started', 'written'])
    expect(a.stats().factory.eagerRefreshes).toBe(1)
  })

  it("a call's eagerRefresh, not the manager's, decides on a hit", async () => {
    const cache = memoryOnly({ eagerRefresh: 0.5 })
    const refreshes = collect(cache, 'eagerRefresh')
    await cache.set('k', 'v1')
    vi.advanceTimersByTime(600) // past the manager's 50%, not the call's 90%
    let calls = 0
    const factory = () => {
      calls++
      return 'v2'
    }
    expect(await cache.getOrAdd('k', factory, { eagerRefresh: 0.9 })).toBe('v1')
    expect(calls).toBe(0)
    vi.advanceTimersByTime(300)
    expect(await cache.getOrAdd('k', factory, { eagerRefresh: 0.9 })).toBe('v1')
    await vi.waitFor(() => expect(refreshes.map((r) => r.reason)).toEqual(['started', 'written']))
    expect(calls).toBe(1)
  })

  it('a hit reads the top once, below and past the threshold, with and without options', async () => {
    const memory = memoryHandle<unknown>({ name: 'memory' })
    let reads = 0
    const get: CacheHandle<unknown>['get'] = (key, region) => {
      reads++
      return memory.get(key, region)
    }
    // The memory handle with its `get` counted (a proxy: its methods live on its class).
    const counted = new Proxy(memory, {
      get: (target, property) => {
        if (property === 'get') return get
        const member = Reflect.get(target, property, target)
        return typeof member === 'function' ? member.bind(target) : member
      },
    })
    const cache = new CacheManager<unknown>({
      name: 'users',
      handles: [counted],
      expiration,
      grace: GRACE,
      eagerRefresh: 0.5,
    })
    caches.push(cache)
    const refreshes = collect(cache, 'eagerRefresh')
    await cache.set('k', 'v1')
    const factory = () => 'v2'
    for (const options of [undefined, { eagerRefresh: 0.5 }]) {
      reads = 0
      expect(await cache.getOrAdd('k', factory, options)).toBe('v1')
      expect(reads).toBe(1)
    }
    vi.advanceTimersByTime(600)
    reads = 0
    expect(await cache.getOrAdd('k', factory)).toBe('v1')
    expect(reads).toBe(1)
    await vi.waitFor(() => expect(refreshes.map((r) => r.reason)).toEqual(['started', 'written']))
  })

  it('a failed eager refresh leaves the value in place and says so', async () => {
    const cache = memoryOnly({ eagerRefresh: 0.5 })
    const refreshes = collect(cache, 'eagerRefresh')
    await cache.set('k', 'v1')
    vi.advanceTimersByTime(600)
    expect(await cache.getOrAdd('k', () => Promise.reject(new Error('no')))).toBe('v1')
    await vi.waitFor(() => expect(refreshes.map((r) => r.reason)).toEqual(['started', 'failed']))
    expect(await cache.get('k')).toBe('v1')
  })
})

describe('options', () => {
  it('bad values are typed errors, at construction and per call', async () => {
    const handles = [memoryHandle({ name: 'm' }) as CacheHandle<unknown>]
    const make = (extra: Partial<CacheManagerOptions>) => () =>
      new CacheManager({ name: 'x', handles, ...extra })
    expect(make({ grace: -1 })).toThrow(errors.E_INVALID_EXPIRATION)
    expect(make({ failSafeThrottleMs: 0 })).toThrow(errors.E_INVALID_OPTIONS)
    expect(make({ softTimeoutMs: 300, hardTimeoutMs: 200 })).toThrow(errors.E_INVALID_OPTIONS)
    expect(make({ eagerRefresh: 1 })).toThrow(errors.E_INVALID_OPTIONS)
    expect(make({ hardTimeoutMs: Number.NaN })).toThrow(errors.E_INVALID_OPTIONS)
    expect(make({ grace: 5, expiration: { mode: 'sliding', ttl: 10 } })).toThrow(errors.E_INVALID_OPTIONS)
    const cache = memoryOnly()
    await expect(cache.getOrAdd('k', () => 1, { eagerRefresh: -0.1 })).rejects.toThrow(
      errors.E_INVALID_OPTIONS,
    )
    await expect(
      cache.getOrAdd('k', () => 1, { backgroundCompletion: 'yes' as unknown as boolean }),
    ).rejects.toThrow(errors.E_INVALID_OPTIONS)
    await expect(
      cache.getOrAdd('k', (_k, _r, ctx) => {
        ctx.setExpiration({ mode: 'absolute', ttl: -5 })
        return 1
      }),
    ).rejects.toMatchObject({ code: 'E_FACTORY_FAILED', cause: { code: 'E_INVALID_EXPIRATION' } })
  })
})
