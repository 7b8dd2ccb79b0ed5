/**
 * `@cacheplane/opentelemetry` across processes: this test process is an instrumented instance
 * (OpenTelemetry SDK with in-memory exporters), a worker process writes through the real
 * servers, and the remote invalidation shows up here as a received-invalidation metric, a
 * propagation latency sample and a read span answered by the store again.
 */
import { cacheInstrumentation } from '@cacheplane/opentelemetry'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import type { Attributes } from '@opentelemetry/api'
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { WorkerPool } from '../src/harness.js'
import { memcachedNatsTopology, redisTopology } from '../src/topologies.js'
import { buildManager } from '../src/worker/topology.js'

const pool = new WorkerPool()
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The SDK as an application sets it up, exporting into memory; metrics collected on demand. */
function sdk() {
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  cleanups.push(
    () => tracerProvider.shutdown(),
    () => meterProvider.shutdown(),
  )
  /** The value of metric `name`'s point whose attributes include `match`. */
  const point = async (name: string, match: Attributes): Promise<number | Histogram | undefined> => {
    exporter.reset()
    await reader.forceFlush()
    const points = exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
      .filter((metric) => metric.descriptor.name === name)
      .flatMap((metric) => metric.dataPoints as DataPoint<number | Histogram>[])
    return points.find((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))?.value
  }
  return { spans, tracerProvider, meterProvider, point }
}

describe.each([redisTopology(), memcachedNatsTopology()])('$label', (topology) => {
  it('a remote invalidation is counted, timed and makes the next read go to the store', async () => {
    const cacheName = randomKey('otel')
    const telemetry = sdk()
    const local = buildManager({ cacheName, topology, workerId: 'test' })
    const instrumentation = cacheInstrumentation({
      tracerProvider: telemetry.tracerProvider,
      meterProvider: telemetry.meterProvider,
      caches: [local],
      topHits: 1, // every memory hit a span too (none by default), to see the level change
    })
    cleanups.push(
      () => local.close(),
      () => instrumentation.disable(),
    )
    await local.ready()
    const [writer] = await pool.spawnMany(1, { cacheName, topology })
    if (writer === undefined) throw new Error('a worker expected')
    const key = randomKey('k')
    const cache = { 'cacheplane.cache.name': cacheName }
    const received = { ...cache, 'cacheplane.direction': 'received' }

    const invalidations = (n: number) =>
      waitFor(async () => (await telemetry.point('cacheplane.backplane.invalidations', received)) === n, {
        message: `${n} received invalidation(s) counted`,
        timeoutMs: 10_000,
      })
    await writer.call({ op: 'set', key, value: { v: 1, by: 'w' } })
    // Read only once its invalidation is in: arriving later, it would evict the copy read here.
    await invalidations(1)
    expect((await local.get(key))?.v).toBe(1) // from the store, now in memory
    expect((await local.get(key))?.v).toBe(1) // from memory
    await writer.call({ op: 'set', key, value: { v: 2, by: 'w' } })
    await invalidations(2)
    const latency = (await telemetry.point('cacheplane.backplane.propagation.duration', cache)) as Histogram
    expect(latency.count).toBe(2)
    expect(latency.min).toBeGreaterThanOrEqual(0)
    expect(latency.max).toBeLessThan(5) // seconds: same host, same clock
    expect((await local.get(key))?.v).toBe(2) // the memory copy was evicted

    const levels = telemetry.spans
      .getFinishedSpans()
      .filter((span) => span.name === 'cache.get')
      .map((span) => [span.attributes['cacheplane.level'], span.attributes['cacheplane.handle']])
    const store = topology.store?.kind === 'memcached' ? 'memcached' : 'redis'
    expect(levels).toEqual([
      [1, store],
      [0, 'memory'],
      [1, store],
    ])
    expect(await telemetry.point('cacheplane.backplane.frames', received)).toBeGreaterThanOrEqual(2)
  })
})
