/**
 * What `@cacheplane/opentelemetry` costs a memory-hit `get` (the bar: at most 10%
 * with the instrumentation enabled, nothing when the package is not loaded).
 *
 * The same loop as `memory-hit` (a memory-only manager over 10,000 keys, awaited gets, CPU
 * clock). First before the package is even imported; then, under an OpenTelemetry SDK
 * (meter and tracer providers, an AsyncLocalStorage context manager as
 * `@opentelemetry/sdk-node` registers), the setups where a memory hit makes no span — a cache
 * never instrumented (the baseline), one instrumented then disabled, metrics only (read
 * from stats at collection time: no hook on the read path), and the defaults (metrics, and
 * traces of every operation, where a memory hit makes no span: core publishes it on
 * `cacheplane.topHit`, which stays unsubscribed) — each on its own cache, interleaved in the
 * same rounds so load on the machine hits them alike. Spans for memory hits (`topHits`)
 * subscribe that channel for every cache of the process, so those setups (one hit in a
 * hundred recorded; every hit under `requireParentSpan` with no parent, so no span; every
 * hit unsampled; every hit recorded) run one after another.
 */
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { context as otelContext } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base'
import type { BenchContext, Scenario } from '../context.js'
import { KEY_COUNT, makeKeys, type SmallObject, smallObject } from '../fixtures.js'
import { type BatchTask, measureRates } from '../measure.js'
import type { ScenarioResult } from '../results.js'

const BATCH = 1_000

/** Discards spans: the cost measured is the instrumentation's and the SDK's, not an exporter's I/O. */
const discard: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
}

type Instrument = typeof import('@cacheplane/opentelemetry').cacheInstrumentation
type Options = NonNullable<Parameters<Instrument>[0]>

/** An SDK as an application runs it: a meter provider, a tracer provider, a context manager. */
function startSdk(sampler: Sampler = new AlwaysOnSampler()) {
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 3_600_000,
      }),
    ],
  })
  const tracerProvider = new BasicTracerProvider({
    sampler,
    spanProcessors: [new BatchSpanProcessor(discard)],
  })
  otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  return {
    options: { meterProvider, tracerProvider } satisfies Options,
    async stop() {
      otelContext.disable()
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
    },
  }
}

/** A memory-only manager holding every key. */
async function filledCache(name: string, keys: readonly string[]): Promise<CacheManager<SmallObject>> {
  const cache = new CacheManager<SmallObject>({
    name,
    handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 })],
  })
  for (const [i, key] of keys.entries()) await cache.set(key, smallObject(i))
  return cache
}

function getTask(name: string, cache: CacheManager<SmallObject>, keys: readonly string[]): BatchTask {
  let offset = 0
  return {
    name,
    batch: BATCH,
    loop: 'awaited',
    run: async () => {
      const end = offset + BATCH
      for (let i = offset; i < end; i++) {
        if ((await cache.get(keys[i] as string)) === undefined) throw new Error(`${name}: a miss`)
      }
      offset = end === keys.length ? 0 : end
    },
  }
}

/** Setups where memory hits make no span: one cache each, measured interleaved (robust ratios). */
async function untracedRates(
  context: BenchContext,
  cacheInstrumentation: Instrument,
  keys: readonly string[],
  plain: CacheManager<SmallObject>,
): Promise<Map<string, number>> {
  const sdk = startSdk()
  const disabled = await filledCache('bench-otel-disabled', keys)
  const metrics = await filledCache('bench-otel-metrics', keys)
  const defaults = await filledCache('bench-otel-defaults', keys)
  cacheInstrumentation({ ...sdk.options, caches: [disabled] }).disable()
  const started = [
    cacheInstrumentation({ ...sdk.options, traces: false, caches: [metrics] }),
    cacheInstrumentation({ ...sdk.options, caches: [defaults] }),
  ]
  try {
    context.log('otel-overhead: untraced gets, interleaved')
    return await measureRates(
      [
        getTask(NOT_INSTRUMENTED, plain, keys),
        getTask(DISABLED, disabled, keys),
        getTask(METRICS, metrics, keys),
        getTask(DEFAULTS, defaults, keys),
      ],
      { ...context.measure, clock: 'cpu' },
    )
  } finally {
    for (const instrumentation of started) instrumentation.disable()
    await sdk.stop()
    await Promise.all([disabled.close(), metrics.close(), defaults.close()])
  }
}

/** Setups with spans for memory hits (process-wide): one after another on the plain cache. */
async function tracedRates(
  context: BenchContext,
  cacheInstrumentation: Instrument,
  keys: readonly string[],
  plain: CacheManager<SmallObject>,
): Promise<Map<string, number>> {
  const setups: ReadonlyArray<[string, Options, Sampler?]> = [
    [HITS_ONE_IN_100, { topHits: 0.01 }],
    [HITS_NO_PARENT, { topHits: 1, requireParentSpan: true }],
    [HITS_UNSAMPLED, { topHits: 1 }, new AlwaysOffSampler()],
    [HITS_RECORDED, { topHits: 1 }],
  ]
  const rates = new Map<string, number>()
  for (const [name, options, sampler] of setups) {
    context.log(`otel-overhead: ${name}`)
    const sdk = startSdk(sampler)
    const instrumentation = cacheInstrumentation({ ...sdk.options, ...options, caches: [plain] })
    try {
      const rate = (
        await measureRates([getTask(name, plain, keys)], { ...context.measure, clock: 'cpu' })
      ).get(name)
      rates.set(name, rate ?? 0)
    } finally {
      instrumentation.disable()
      await sdk.stop()
    }
  }
  return rates
}

const NOT_LOADED = 'not loaded (measured alone, before the import)'
const NOT_INSTRUMENTED = 'loaded, this cache not instrumented'
const DISABLED = 'instrumented, then disable()'
const METRICS = 'metrics only'
const DEFAULTS = 'defaults: metrics + traces of every operation (memory hits: no span)'
const HITS_ONE_IN_100 = 'defaults + topHits 0.01 (one memory hit in 100 a recorded span)'
const HITS_NO_PARENT = 'defaults + topHits 1, requireParentSpan, no parent (no span)'
const HITS_UNSAMPLED = 'defaults + topHits 1, unsampled (AlwaysOff)'
const HITS_RECORDED = 'defaults + topHits 1, every memory hit a recorded span'

export const otelOverhead: Scenario = {
  name: 'otel-overhead',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const keys = makeKeys(KEY_COUNT)
    const plain = await filledCache('bench-otel', keys)
    try {
      context.log('otel-overhead: measuring without the package')
      const measure = { ...context.measure, clock: 'cpu' as const }
      const notLoaded = (await measureRates([getTask(NOT_LOADED, plain, keys)], measure)).get(NOT_LOADED) ?? 0
      // Loaded only now: the rate above ran with no subscriber on any channel.
      const { cacheInstrumentation } = await import('@cacheplane/opentelemetry')
      const untraced = await untracedRates(context, cacheInstrumentation, keys, plain)
      const traced = await tracedRates(context, cacheInstrumentation, keys, plain)
      return report(notLoaded, untraced, traced)
    } finally {
      await plain.close()
    }
  },
}

function report(
  notLoaded: number,
  untraced: ReadonlyMap<string, number>,
  traced: ReadonlyMap<string, number>,
): ScenarioResult {
  const base = untraced.get(NOT_INSTRUMENTED) ?? Number.NaN
  const row = (subject: string, rate: number) => ({
    subject,
    rate,
    vsBase: rate / base,
    overhead: `${((1 - rate / base) * 100).toFixed(1)}%`,
  })
  const rows = [
    row(NOT_LOADED, notLoaded),
    ...[...untraced].map(([name, rate]) => row(name, rate)),
    ...[...traced].map(([name, rate]) => row(name, rate)),
  ]
  const overhead = (name: string) => 1 - (untraced.get(name) ?? traced.get(name) ?? 0) / base
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`
  return {
    name: 'otel-overhead',
    title: '@cacheplane/opentelemetry on a memory-hit get (memory only, 10,000 keys)',
    description:
      'Awaited memory-hit gets, timed on process CPU time. The untraced setups run on one cache each, interleaved in the same rounds as an uninstrumented cache (the baseline); setups with spans for memory hits (topHits) are process-wide, so they run one after another. Each setup runs under an OpenTelemetry SDK (meter and tracer providers, context manager).',
    columns: [
      { key: 'subject', title: 'setup' },
      { key: 'rate', title: 'gets/s', format: 'ops' },
      { key: 'vsBase', title: 'vs not instrumented', format: 'ratio' },
      { key: 'overhead', title: 'overhead' },
    ],
    rows,
    targets: [
      {
        target: 'instrumentation enabled <= 10% on a memory-hit get (defaults; metrics only)',
        measured: `${percent(overhead(DEFAULTS))} with the defaults, ${percent(overhead(METRICS))} metrics only; spans for memory hits: ${percent(overhead(HITS_ONE_IN_100))} one in 100, ${percent(overhead(HITS_RECORDED))} every hit recorded`,
        met: overhead(METRICS) <= 0.1 && overhead(DEFAULTS) <= 0.1,
      },
      {
        target: '0% when not loaded (or disabled)',
        measured: `disabled: ${percent(overhead(DISABLED))}; not loaded, measured alone earlier: ${percent(1 - notLoaded / base)} (load on the machine moves rates measured at different times)`,
        met: overhead(DISABLED) <= 0.03,
      },
    ],
  }
}
