import { CacheManager, type CacheHandle, InvalidOptionsError } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { SpanKind, SpanStatusCode } from '@opentelemetry/api'
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { type CacheInstrumentation, cacheInstrumentation } from '../src/index.js'
import { type TestSdk, testSdk } from './otel-sdk.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A manager over memory + a distributed memory handle, instrumented (every memory hit a span unless told), with a fresh SDK. */
function setup(options: Parameters<typeof cacheInstrumentation>[0] = {}) {
  const sdk: TestSdk = testSdk()
  const store = memoryHandle({ name: 'store', distributed: true }) as CacheHandle<unknown>
  const cache = new CacheManager<number>({
    name: 'spans',
    handles: [memoryHandle({ name: 'memory' }), store],
    shared: [store],
  })
  const instrumentation: CacheInstrumentation = cacheInstrumentation({
    tracerProvider: sdk.tracerProvider,
    meterProvider: sdk.meterProvider,
    caches: [cache],
    topHits: 1,
    ...options,
  })
  cleanups.push(
    () => sdk.shutdown(),
    () => cache.close(),
    () => instrumentation.disable(),
  )
  return { sdk, cache, instrumentation, store }
}

function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name)
  if (found.length !== 1) throw new Error(`expected one ${name} span, got ${found.length}`)
  return found[0] as ReadableSpan
}

describe('spans', () => {
  it('one per operation, with the operation, the cache name, hit or miss and the level that answered', async () => {
    const { sdk, cache } = setup()
    await cache.set('k', 1)
    expect(await cache.get('k')).toBe(1)
    expect(await cache.get('absent')).toBeUndefined()
    expect(sdk.spans().map((span) => span.name)).toEqual(['cache.set', 'cache.get', 'cache.get'])
    const [set, hit, miss] = sdk.spans() as [ReadableSpan, ReadableSpan, ReadableSpan]
    expect(set.kind).toBe(SpanKind.INTERNAL)
    expect(set.attributes).toEqual({ 'db.operation.name': 'set', 'cacheplane.cache.name': 'spans' })
    expect(hit.attributes).toEqual({
      'db.operation.name': 'get',
      'cacheplane.cache.name': 'spans',
      'cacheplane.hit': true,
      'cacheplane.level': 0,
      'cacheplane.handle': 'memory',
    })
    expect(miss.attributes).toMatchObject({ 'cacheplane.hit': false })
    expect(miss.attributes).not.toHaveProperty('cacheplane.level')
  })

  it('names the lower level when the top missed, for get and getItem; peek reads the top', async () => {
    const { sdk, cache, store } = setup()
    // Another instance writes the shared store: our memory level has not got the key.
    const other = new CacheManager<number>({
      name: 'spans',
      handles: [memoryHandle(), store],
      shared: [store],
    })
    cleanups.push(() => other.close())
    await other.set('k', 1)
    await other.set('j', 2)
    expect(await cache.get('k')).toBe(1)
    expect((await cache.getItem('j'))?.level).toBe(1)
    expect(cache.peek('k')).toBe(1) // copied up by the get
    expect(only(sdk.spans(), 'cache.get').attributes).toMatchObject({
      'cacheplane.hit': true,
      'cacheplane.level': 1,
      'cacheplane.handle': 'store',
    })
    expect(only(sdk.spans(), 'cache.getItem').attributes).toMatchObject({
      'cacheplane.level': 1,
      'cacheplane.handle': 'store',
    })
    expect(only(sdk.spans(), 'cache.peek').attributes).toMatchObject({
      'cacheplane.hit': true,
      'cacheplane.level': 0,
      'cacheplane.handle': 'memory',
    })
  })

  it('records a failure with error.type, status and the exception, never the key', async () => {
    const { sdk, cache } = setup()
    await expect(cache.set('', 1)).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
    const span = only(sdk.spans(), 'cache.set')
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
    expect(span.attributes['error.type']).toBe('E_INVALID_KEY')
    expect(span.events.map((event) => event.name)).toEqual(['exception'])
  })

  it('traces a getOrAdd factory as a child span, and a getOrAdd hit without one', async () => {
    const { sdk, cache } = setup()
    expect(await cache.getOrAdd('k', async () => 7)).toBe(7)
    expect(await cache.getOrAdd('k', async () => 8)).toBe(7)
    await expect(
      cache.getOrAdd('broken', async () => {
        throw new TypeError('no')
      }),
    ).rejects.toMatchObject({ code: 'E_FACTORY_FAILED', cause: { message: 'no' } })
    const spans = sdk.spans()
    const getOrAdds = spans.filter((span) => span.name === 'cache.getOrAdd')
    const factories = spans.filter((span) => span.name === 'cache.factory')
    expect(getOrAdds.map((span) => span.attributes['cacheplane.hit'])).toEqual([false, true, undefined])
    expect(getOrAdds[1]?.attributes).toMatchObject({ 'cacheplane.level': 0, 'cacheplane.handle': 'memory' })
    expect(factories).toHaveLength(2)
    for (const [i, factory] of factories.entries()) {
      const parent = i === 0 ? getOrAdds[0] : getOrAdds[2]
      expect(factory.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId)
      expect(factory.spanContext().traceId).toBe(parent?.spanContext().traceId)
    }
    expect(factories[1]?.attributes['error.type']).toBe('TypeError')
    expect(getOrAdds[2]?.status.code).toBe(SpanStatusCode.ERROR)
  })

  it('nests under the active span; with requireParentSpan, only there', async () => {
    const { sdk, cache } = setup({ requireParentSpan: true })
    await cache.set('outside', 1)
    const tracer = sdk.tracerProvider.getTracer('app')
    await tracer.startActiveSpan('request', async (request) => {
      await cache.get('outside')
      request.end()
    })
    expect(sdk.spans().map((span) => span.name)).toEqual(['cache.get', 'request'])
    const [get, request] = sdk.spans() as [ReadableSpan, ReadableSpan]
    expect(get.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
  })

  it('puts the region on spans only when asked', async () => {
    const plain = setup()
    await plain.cache.set('k', 1, { region: 'eu' })
    expect(only(plain.sdk.spans(), 'cache.set').attributes).not.toHaveProperty('cacheplane.region')
    await plain.instrumentation.disable()
    const withRegion = setup({ regionAttribute: true })
    await withRegion.cache.set('k', 1, { region: 'eu' })
    expect(only(withRegion.sdk.spans(), 'cache.set').attributes['cacheplane.region']).toBe('eu')
  })

  it('stops on disable, and traces nothing with traces: false', async () => {
    const { sdk, cache, instrumentation } = setup()
    instrumentation.disable()
    await cache.set('k', 1)
    expect(sdk.spans()).toEqual([])
    expect(() => instrumentation.instrument(cache)).toThrow(InvalidOptionsError)
    const off = setup({ traces: false })
    await off.cache.set('k', 1)
    expect(off.sdk.spans()).toEqual([])
  })

  it('rejects bad options with InvalidOptionsError', () => {
    expect(() => cacheInstrumentation({ traces: 'yes' as unknown as boolean })).toThrow(InvalidOptionsError)
    expect(() => cacheInstrumentation({ meterProvider: {} as never })).toThrow(InvalidOptionsError)
    expect(() => cacheInstrumentation({ caches: 'c' as never })).toThrow(InvalidOptionsError)
    expect(() => cacheInstrumentation(null as never)).toThrow(InvalidOptionsError)
  })
})

describe('memory hits', () => {
  it('make no span by default, while reads answered below the top, misses and writes do', async () => {
    const { sdk, cache, store } = setup({ topHits: undefined })
    await cache.set('k', 1)
    expect(await cache.get('k')).toBe(1)
    expect(cache.peek('k')).toBe(1)
    expect(await cache.getOrAdd('k', async () => 2)).toBe(1)
    expect(await cache.get('absent')).toBeUndefined()
    const other = new CacheManager<number>({
      name: 'spans',
      handles: [memoryHandle(), store],
      shared: [store],
    })
    cleanups.push(() => other.close())
    await other.set('j', 3)
    expect(await cache.get('j')).toBe(3)
    expect(sdk.spans().map((span) => [span.name, span.attributes['cacheplane.level']])).toEqual([
      ['cache.set', undefined],
      ['cache.get', undefined],
      ['cache.set', undefined], // the other manager's: the channels are process-wide
      ['cache.get', 1],
    ])
  })

  it('are sampled with topHits, only for the traced operations', async () => {
    const { sdk, cache } = setup({ topHits: 1, operations: ['getOrAdd'] })
    await cache.set('k', 1)
    await cache.get('k')
    await cache.getOrAdd('k', async () => 2)
    expect(sdk.spans().map((span) => span.name)).toEqual(['cache.getOrAdd'])
    expect(() => cacheInstrumentation({ topHits: 2 })).toThrow(InvalidOptionsError)
    expect(() => cacheInstrumentation({ topHits: '1' as never })).toThrow(InvalidOptionsError)
  })
})

describe('operations', () => {
  it('traces only the operations listed, and leaves the others alone', async () => {
    const { sdk, cache } = setup({ operations: ['set', 'getOrAdd'] })
    await cache.set('k', 1)
    await cache.get('k')
    await cache.getOrAdd('j', async () => 2)
    expect(sdk.spans().map((span) => span.name)).toEqual(['cache.set', 'cache.factory', 'cache.getOrAdd'])
    expect(() => cacheInstrumentation({ operations: ['fetch' as never] })).toThrow(InvalidOptionsError)
  })
})
