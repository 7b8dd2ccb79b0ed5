import { channel, tracingChannel } from 'node:diagnostics_channel'
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type CacheEvents,
  type CacheHandle,
  CacheManager,
  ClosedError,
  CircuitOpenError,
  InvalidKeyError,
  NotSupportedError,
} from '../src/index.js'
import { CacheEmitter } from '../src/events.js'
import type { TopHit, TraceContext } from '../src/tracing.js'
import { failingHandle, spyHandle } from './sync-fixtures.js'

const caches: CacheManager<unknown>[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const cache of caches.splice(0)) await cache.close()
})

function track<V>(cache: CacheManager<V>): CacheManager<V> {
  caches.push(cache as CacheManager<unknown>)
  return cache
}

/** memory over a distributed-mode memory handle whose get, add and touch calls are counted. */
function layered() {
  const memory = memoryHandle({ name: 'memory' })
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const calls = { get: 0, add: 0, touch: 0 }
  const spied = spyHandle(shared, {
    get: (key, region) => {
      calls.get++
      return shared.get(key, region)
    },
    add: (key, region, item) => {
      calls.add++
      return shared.add(key, region, item)
    },
    touch: (key, region) => {
      calls.touch++
      return shared.touch!(key, region)
    },
  })
  const cache = track(new CacheManager<string>({ name: 'peek', handles: [memory, spied] }))
  return { cache, memory, shared, calls }
}

describe('CacheManager.peek', () => {
  it('returns a memory hit synchronously, counted as a hit of the top', async () => {
    const { cache } = layered()
    await cache.set('k', 'v')
    const value = cache.peek('k')
    expect(value).toBe('v')
    expect(cache.stats().handles.memory).toMatchObject({ hits: 1, misses: 0 })
  })

  it('a miss is undefined: the levels below are never read and nothing is copied up', async () => {
    const { cache, memory, calls } = layered()
    await cache.set('k', 'v')
    memory.remove('k', undefined) // only the lower level holds it now
    const before = { ...cache.stats().handles.shared }
    const getsBefore = calls.get
    expect(cache.peek('k')).toBeUndefined()
    expect(calls.get).toBe(getsBefore)
    expect(calls.add).toBe(0)
    expect(cache.stats().handles.shared).toEqual(before)
    expect(cache.stats().handles.memory).toMatchObject({ hits: 0, misses: 1 })
    expect(memory.get('k', undefined)).toBeUndefined()
    // The value is there for get, which reads below and copies up; then peek hits.
    expect(await cache.get('k')).toBe('v')
    expect(cache.peek('k')).toBe('v')
  })

  it('honours expiry', async () => {
    const { cache } = layered()
    // The clock stands still from the write on, so the item expires at exactly start + 1,000.
    const start = Date.now()
    vi.spyOn(Date, 'now').mockReturnValue(start)
    await cache.set('k', 'v', { expiration: { mode: 'absolute', ttl: 1_000 } })
    vi.spyOn(Date, 'now').mockReturnValue(start + 999)
    expect(cache.peek('k')).toBe('v')
    vi.spyOn(Date, 'now').mockReturnValue(start + 1_001)
    expect(cache.peek('k')).toBeUndefined()
  })

  it('extends a sliding item and touches the distributed copy as a get hit does', async () => {
    const { cache, calls } = layered()
    await cache.set('k', 'v', { expiration: { mode: 'sliding', ttl: 10_000 } })
    const start = Date.now()
    const now = vi.spyOn(Date, 'now')
    now.mockReturnValue(start + 6_000)
    expect(cache.peek('k')).toBe('v')
    expect(calls.touch).toBe(1)
    // 12 s after the write: alive only because the peek at 6 s slid it.
    now.mockReturnValue(start + 12_000)
    expect(cache.peek('k')).toBe('v')
    now.mockReturnValue(start + 23_000)
    expect(cache.peek('k')).toBeUndefined()
  })

  it('reads the key in its region only', async () => {
    const { cache } = layered()
    await cache.set('k', 'eu-value', { region: 'eu' })
    expect(cache.peek('k')).toBeUndefined()
    expect(cache.peek('k', { region: 'us' })).toBeUndefined()
    expect(cache.peek('k', { region: 'eu' })).toBe('eu-value')
  })

  it('throws the typed errors get rejects with, synchronously', async () => {
    const { cache } = layered()
    const bad: Array<[unknown, unknown]> = [
      ['', undefined],
      [42, undefined],
      ['x'.repeat(70_000), undefined],
      ['k', { region: '' }],
      ['k', { region: 7 }],
    ]
    for (const [key, options] of bad) {
      const peek = () => cache.peek(key as string, options as { region?: string })
      expect(peek).toThrow(InvalidKeyError)
      await expect(cache.get(key as string, options as { region?: string })).rejects.toBeInstanceOf(
        InvalidKeyError,
      )
    }
  })

  it('throws ClosedError after close', async () => {
    const { cache } = layered()
    await cache.set('k', 'v')
    await cache.close()
    expect(() => cache.peek('k')).toThrow(ClosedError)
  })

  it('throws NotSupportedError when the top handle is asynchronous', async () => {
    const { handle } = failingHandle(memoryHandle({ name: 'memory' }) as CacheHandle<unknown>, 'async-top')
    const cache = track(new CacheManager({ name: 'async', handles: [handle] }))
    await cache.set('k', 1)
    expect(() => cache.peek('k')).toThrow(NotSupportedError)
    expect(() => cache.peek('k')).toThrow(/synchronous top handle such as memoryHandle/)
  })

  it('works on a synchronous top with a circuit breaker, and the breaker applies', async () => {
    const inner = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    let failing = false
    let gets = 0
    const top = spyHandle(inner, {
      get: (key, region) => {
        gets++
        if (failing) throw new Error('connection refused')
        return inner.get(key, region)
      },
    })
    const cache = track(
      new CacheManager({
        name: 'breaker',
        handles: [top],
        circuitBreaker: { failureThreshold: 2, resetAfterMs: 60_000 },
      }),
    )
    const errors: CacheEvents['error'][] = []
    cache.on('error', (e) => errors.push(e))
    await cache.set('k', { n: 1 })
    expect(cache.peek('k')).toEqual({ n: 1 }) // bytes decoded
    failing = true
    expect(cache.peek('k')).toBeUndefined()
    expect(cache.peek('k')).toBeUndefined()
    expect(cache.stats().handles.shared?.circuit).toBe('open')
    const callsWhenOpen = gets
    expect(cache.peek('k')).toBeUndefined()
    expect(gets).toBe(callsWhenOpen) // failed fast
    expect(errors.map((e) => e.error.code)).toEqual(['E_HANDLE_FAILED', 'E_HANDLE_FAILED', 'E_CIRCUIT_OPEN'])
    expect(errors.at(-1)?.error).toBeInstanceOf(CircuitOpenError)
  })

  it('emits get at level 0 on a hit and -1 on a miss, and nothing without listeners', async () => {
    const { cache } = layered()
    await cache.set('k', 'v')
    const emit = vi.spyOn(CacheEmitter.prototype, 'emit')
    cache.peek('k')
    cache.peek('missing')
    expect(emit).not.toHaveBeenCalled()
    const seen: CacheEvents['get'][] = []
    const listener = (e: CacheEvents['get']) => seen.push(e)
    const other = () => {}
    cache.on('get', listener)
    cache.on('get', other)
    cache.peek('k', undefined)
    cache.off('get', other) // one listener left: still emitted
    cache.peek('missing')
    expect(seen).toEqual([
      { key: 'k', region: undefined, level: 0, handle: 'memory' },
      { key: 'missing', region: undefined, level: -1, handle: undefined },
    ])
    cache.off('get', listener)
    emit.mockClear()
    cache.peek('k')
    cache.peek('missing')
    await cache.get('missing')
    expect(emit).not.toHaveBeenCalled()
    expect(seen).toHaveLength(2)
    expect(cache.stats().handles.memory).toMatchObject({ hits: 3, misses: 4 })
  })

  it('misses without touching the top while a handle is still binding, and throws a failed bind', async () => {
    let finishBind!: (error?: Error) => void
    const binding = new Promise<void>((resolve, reject) => {
      finishBind = (error) => (error === undefined ? resolve() : reject(error))
    })
    const memory = memoryHandle({ name: 'memory' })
    memory.set('k', undefined, { value: 'prefilled', mode: 'none', ttl: 0, expiresAt: 0, created: 0 })
    let topGets = 0
    const top = spyHandle(memory as CacheHandle<unknown>, {
      get: (key, region) => {
        topGets++
        return memory.get(key, region)
      },
    })
    const lower = spyHandle(memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>, {
      bind: () => binding,
    })
    const cache = track(new CacheManager({ name: 'binding', handles: [top, lower] }))
    expect(cache.peek('k')).toBeUndefined()
    expect(topGets).toBe(0)
    expect(cache.stats().handles.memory).toMatchObject({ misses: 1 })
    finishBind()
    await cache.ready()
    expect(cache.peek('k')).toBe('prefilled')

    const failed = track(
      new CacheManager({
        name: 'bind-fails',
        handles: [
          memoryHandle({ name: 'memory' }),
          spyHandle(memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>, {
            bind: () => Promise.reject(new Error('no route to host')),
          }),
        ],
      }),
    )
    const getError = await failed.get('k').then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(getError).toMatchObject({ code: 'E_HANDLE_FAILED' })
    expect(() => failed.peek('k')).toThrow(getError as Error)
  })

  it('publishes a hit on cacheplane.topHit and traces a miss synchronously on cacheplane.peek', async () => {
    const { cache } = layered()
    await cache.set('k', 'v', { region: 'eu' })
    const seen: Array<[string, string | undefined, string | undefined]> = []
    const handlers = {
      start: (c: TraceContext) => seen.push(['start', c.key, c.region]),
      end: (c: TraceContext) => seen.push(['end', c.key, c.region]),
      asyncStart: () => {},
      asyncEnd: () => {},
      error: () => {},
    }
    const onHit = (message: unknown) => {
      const hit = message as TopHit
      seen.push([`topHit ${hit.operation} ${hit.handle}`, hit.key, hit.region])
    }
    const traced = tracingChannel<TraceContext>('cacheplane.peek')
    const topHit = channel('cacheplane.topHit')
    traced.subscribe(handlers)
    topHit.subscribe(onHit)
    try {
      expect(cache.peek('k', { region: 'eu' })).toBe('v')
      expect(cache.peek('absent', { region: 'eu' })).toBeUndefined()
    } finally {
      traced.unsubscribe(handlers)
      topHit.unsubscribe(onHit)
    }
    expect(seen).toEqual([
      ['topHit peek memory', 'k', 'eu'],
      ['start', 'absent', 'eu'],
      ['end', 'absent', 'eu'],
    ])
  })
})
