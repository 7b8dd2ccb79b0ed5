import {
  type Backplane,
  type CacheHandle,
  CacheManager,
  createBackplaneHub,
  memoryBackplane,
} from '@cacheplane/core'
import { chaosBackplane, waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import type { Histogram } from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it } from 'vitest'
import {
  cacheInstrumentation,
  METRIC_CIRCUIT_STATE,
  METRIC_CONNECTED,
  METRIC_FRAMES,
  METRIC_GAPS,
  METRIC_INVALIDATIONS,
  METRIC_PROPAGATION,
  METRIC_QUEUE_DEPTH,
  METRIC_READS,
  METRIC_UNSETTLED_WRITES,
  METRIC_WRITES,
} from '../src/index.js'
import { type TestSdk, testSdk, pointValue } from './otel-sdk.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A writer and an instrumented reader over one shared store and an in-process backplane. */
async function pair(options: { instrumentWriter?: boolean } = {}) {
  const sdk: TestSdk = testSdk()
  const hub = createBackplaneHub()
  const store = memoryHandle({ name: 'store', distributed: true }) as CacheHandle<unknown>
  const chaos = chaosBackplane(memoryBackplane({ hub }))
  const make = (backplane: Backplane = memoryBackplane({ hub })) =>
    new CacheManager<number>({
      name: 'metrics',
      handles: [memoryHandle({ name: 'memory' }), store],
      shared: [store],
      backplane,
      closeTimeoutMs: 100, // the gap test leaves publishes failing: close gives up quickly
    })
  const writer = make()
  const reader = make(chaos)
  const instrumentation = cacheInstrumentation({
    tracerProvider: sdk.tracerProvider,
    meterProvider: sdk.meterProvider,
    caches: options.instrumentWriter ? [reader, writer] : [reader],
  })
  cleanups.push(
    () => sdk.shutdown(),
    () => writer.close(),
    () => reader.close(),
    () => instrumentation.disable(),
  )
  await Promise.all([writer.ready(), reader.ready()])
  return { sdk, writer, reader, chaos, instrumentation }
}

const CACHE = { 'cacheplane.cache.name': 'metrics' }

describe('metrics', () => {
  it('count reads per level, writes, invalidations and frames, and sample the propagation latency', async () => {
    const { sdk, writer, reader } = await pair()
    await writer.set('k', 1)
    await waitFor(
      async () =>
        pointValue(await sdk.points(METRIC_INVALIDATIONS), {
          ...CACHE,
          'cacheplane.direction': 'received',
        }) === 1,
      { message: 'the reader to count the invalidation it received' },
    )
    expect(await reader.get('k')).toBe(1) // memory miss, store hit, copied up
    expect(await reader.get('k')).toBe(1) // memory hit
    const reads = await sdk.points(METRIC_READS)
    const memory = { ...CACHE, 'cacheplane.handle': 'memory', 'cacheplane.level': 0 }
    const store = { ...CACHE, 'cacheplane.handle': 'store', 'cacheplane.level': 1 }
    expect(pointValue(reads, { ...memory, 'cacheplane.read.result': 'hit' })).toBe(1)
    expect(pointValue(reads, { ...memory, 'cacheplane.read.result': 'miss' })).toBe(1)
    expect(pointValue(reads, { ...store, 'cacheplane.read.result': 'hit' })).toBe(1)
    expect(pointValue(await sdk.points(METRIC_WRITES), { ...memory, 'cacheplane.write.kind': 'add' })).toBe(1)
    const frames = await sdk.points(METRIC_FRAMES)
    expect(pointValue(frames, { ...CACHE, 'cacheplane.direction': 'received' })).toBe(1)
    expect(pointValue(frames, { ...CACHE, 'cacheplane.direction': 'sent' })).toBe(0)
    const latency = pointValue(await sdk.points(METRIC_PROPAGATION), CACHE) as Histogram
    expect(latency.count).toBe(1)
    expect(latency.min).toBeGreaterThanOrEqual(0)
    expect(latency.max).toBeLessThan(5)
  })

  it('report queue depth, connection, circuit state, and gaps with their action and reason', async () => {
    const { sdk, reader, chaos } = await pair()
    chaos.failPublishes(1_000)
    await reader.set('a', 1)
    await reader.set('b', 2)
    await waitFor(async () => pointValue(await sdk.points(METRIC_QUEUE_DEPTH), CACHE) === 2, {
      message: 'two messages waiting behind failing publishes',
    })
    expect(pointValue(await sdk.points(METRIC_CONNECTED), CACHE)).toBe(1)
    const circuit = await sdk.points(METRIC_CIRCUIT_STATE)
    const store = { ...CACHE, 'cacheplane.handle': 'store' }
    expect(pointValue(circuit, { ...store, 'cacheplane.circuit.state': 'closed' })).toBe(1)
    expect(pointValue(circuit, { ...store, 'cacheplane.circuit.state': 'open' })).toBe(0)
    chaos.emitGap({ reason: 'resubscribe', recovered: false })
    chaos.emitGap({ reason: 'replayed', recovered: true })
    const gaps = await sdk.points(METRIC_GAPS)
    const gap = (action: string, reason: string) =>
      pointValue(gaps, { ...CACHE, 'cacheplane.gap.action': action, 'cacheplane.gap.reason': reason })
    expect(gap('cleared', 'resubscribe')).toBe(1)
    expect(gap('kept', 'replayed')).toBe(1)
    chaos.setState('disconnected')
    expect(pointValue(await sdk.points(METRIC_CONNECTED), CACHE)).toBe(0)
  })

  it('add up caches of the same name, and forget a cache once its stop function ran', async () => {
    const { sdk, writer, reader, instrumentation } = await pair({ instrumentWriter: true })
    await writer.set('k', 1)
    await reader.set('j', 2)
    const sets = async () =>
      pointValue(await sdk.points(METRIC_WRITES), {
        ...CACHE,
        'cacheplane.handle': 'store',
        'cacheplane.write.kind': 'set',
      })
    expect(await sets()).toBe(2)
    instrumentation.instrument(writer)() // instrument() of a known cache returns its stop function
    expect(await sets()).toBe(1)
  })
})

describe('the unsettled writes gauge', () => {
  it('count the keys whose failed store write may still land', async () => {
    const sdk: TestSdk = testSdk()
    const inner = memoryHandle({ name: 'store', distributed: true }) as CacheHandle<unknown>
    let down = true
    const fail = async <T>(call: () => T | Promise<T>): Promise<T> => {
      if (down) throw new Error('connection reset')
      return await call()
    }
    const store: CacheHandle<unknown> = {
      ...inner,
      name: 'store',
      capabilities: { ...inner.capabilities, synchronous: false },
      get: (key, region) => fail(() => inner.get(key, region)),
      set: (key, region, item) => fail(() => inner.set(key, region, item)),
    }
    delete (store as { peek?: unknown }).peek
    const cache = new CacheManager<number>({
      name: 'metrics',
      handles: [memoryHandle({ name: 'memory' }), store],
    })
    cache.on('error', () => {})
    const instrumentation = cacheInstrumentation({ meterProvider: sdk.meterProvider, caches: [cache] })
    cleanups.push(
      () => sdk.shutdown(),
      () => cache.close(),
      () => instrumentation.disable(),
    )
    await expect(cache.set('k', 1)).rejects.toThrow()
    expect(pointValue(await sdk.points(METRIC_UNSETTLED_WRITES), CACHE)).toBe(1)
    down = false // the next probe answers
    await waitFor(async () => pointValue(await sdk.points(METRIC_UNSETTLED_WRITES), CACHE) === 0, {
      message: 'the key settled once the store answered',
    })
  })
})
