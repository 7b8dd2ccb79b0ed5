/**
 * `cacheInstrumentation()`: OpenTelemetry spans and metrics for cacheplane, from the
 * outside. Spans come from core's `diagnostics_channel` tracing channels, which cover every
 * `CacheManager` in the process once subscribed; metrics need the manager itself (its
 * stats and events), so each cache is added with `instrument(cache)` or the `caches` option.
 * Nothing wraps or patches the manager.
 *
 * Create one instrumentation per process: two would both subscribe to the channels and
 * every call would be traced twice.
 */
import { type CacheManager, type GetEvent, InvalidOptionsError, type TracedOperation } from '@cacheplane/core'
import { type MeterProvider, metrics, type TracerProvider, trace } from '@opentelemetry/api'
import { CacheMetrics } from './cache-metrics.js'
import { TRACED_OPERATIONS } from '@cacheplane/core'
import { SpanTracer } from './span-tracer.js'

/** Name of the tracer and meter this package creates (the instrumentation scope). */
export const INSTRUMENTATION_SCOPE = '@cacheplane/opentelemetry'

/** A cache of any value type: only its name, stats and events are used. */
// biome-ignore lint/suspicious/noExplicitAny: any value type; only name, stats and events are used.
export type InstrumentedCache = CacheManager<any>

/** Options of {@link cacheInstrumentation}. */
export interface CacheInstrumentationOptions {
  /** Where spans go; the global tracer provider (`trace.getTracerProvider()`) by default. */
  readonly tracerProvider?: TracerProvider | undefined
  /** Where metrics go; the global meter provider (`metrics.getMeterProvider()`) by default. */
  readonly meterProvider?: MeterProvider | undefined
  /** Record a span per operation; default true. */
  readonly traces?: boolean | undefined
  /** Record metrics of the instrumented caches; default true. */
  readonly metrics?: boolean | undefined
  /** Start a span only inside another span (as HTTP-request-scoped tracing wants); default false. */
  readonly requireParentSpan?: boolean | undefined
  /**
   * The operations to trace; default all. Tracing an operation costs every call of it, in
   * every cache (core's tracing channel runs once subscribed): leave out `get` and `peek`
   * to keep memory hits free and still trace writes, `getOrAdd` and its factory.
   */
  readonly operations?: readonly TracedOperation[] | undefined
  /**
   * Fraction of memory hits that make a span, 0 to 1; default 0. A read the top level
   * answers at once (a memory hit of `get`, `getOrAdd` or `peek`) takes a fraction of a
   * microsecond, and a span costs several times that: by default such hits make no span
   * (they are counted in the `cacheplane.handle.reads` metric) and cost nothing; every
   * other read, write and factory call is traced. 1 traces every hit; 0.01 one in a hundred.
   */
  readonly topHits?: number | undefined
  /** Put the region on spans as `cacheplane.region`; default false (regions may be unbounded). */
  readonly regionAttribute?: boolean | undefined
  /** Caches to instrument right away; more can be added with {@link CacheInstrumentation.instrument}. */
  readonly caches?: readonly InstrumentedCache[] | undefined
}

/** What {@link cacheInstrumentation} returns. */
export interface CacheInstrumentation {
  /**
   * Records the metrics of `cache`, and the level that answered its reads on their spans.
   * Returns a function that stops both; instrumenting a cache twice is a no-op.
   */
  instrument(cache: InstrumentedCache): () => void
  /** Stops everything: channels unsubscribed, listeners removed, observable callbacks detached. Idempotent. */
  disable(): void
}

/** Starts tracing every cache of the process and returns the handle that adds caches' metrics. */
export function cacheInstrumentation(options: CacheInstrumentationOptions = {}): CacheInstrumentation {
  const resolved = validate(options)
  const tracer =
    resolved.traces === false
      ? undefined
      : new SpanTracer(
          (resolved.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE),
          {
            requireParentSpan: resolved.requireParentSpan === true,
            regionAttribute: resolved.regionAttribute === true,
            operations: resolved.operations ?? TRACED_OPERATIONS,
            topHits: resolved.topHits ?? 0,
          },
        )
  const cacheMetrics =
    resolved.metrics === false
      ? undefined
      : new CacheMetrics(
          (resolved.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE),
        )
  const stops = new Map<InstrumentedCache, () => void>()
  let disabled = false
  tracer?.enable()

  const instrument = (cache: InstrumentedCache): (() => void) => {
    if (disabled) throw new InvalidOptionsError('cacheInstrumentation: instrument() after disable()')
    if (typeof cache !== 'object' || cache === null || typeof cache.stats !== 'function') {
      throw new InvalidOptionsError('cacheInstrumentation: instrument() needs a CacheManager')
    }
    const existing = stops.get(cache)
    if (existing !== undefined) return existing
    const stopMetrics = cacheMetrics?.add(cache)
    // A `get` listener makes core build an event per read: only worth it when spans want the level.
    const onGet =
      tracer?.tracesReads === true
        ? (event: GetEvent) => tracer.noteRead(cache.name, event.level, event.handle)
        : undefined
    if (onGet !== undefined) cache.on('get', onGet)
    const stop = () => {
      if (stops.get(cache) !== stop) return
      stops.delete(cache)
      stopMetrics?.()
      if (onGet !== undefined) cache.off('get', onGet)
    }
    stops.set(cache, stop)
    return stop
  }

  for (const cache of resolved.caches ?? []) instrument(cache)
  return {
    instrument,
    disable() {
      if (disabled) return
      disabled = true
      for (const stop of [...stops.values()]) stop()
      tracer?.disable()
      cacheMetrics?.close()
    },
  }
}

function validate(options: CacheInstrumentationOptions): CacheInstrumentationOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('cacheInstrumentation: options must be an object')
  }
  for (const flag of ['traces', 'metrics', 'requireParentSpan', 'regionAttribute'] as const) {
    const value = options[flag]
    if (value !== undefined && typeof value !== 'boolean') {
      throw new InvalidOptionsError(`cacheInstrumentation: ${flag} must be a boolean`)
    }
  }
  if (options.tracerProvider !== undefined && typeof options.tracerProvider?.getTracer !== 'function') {
    throw new InvalidOptionsError('cacheInstrumentation: tracerProvider must have getTracer()')
  }
  if (options.meterProvider !== undefined && typeof options.meterProvider?.getMeter !== 'function') {
    throw new InvalidOptionsError('cacheInstrumentation: meterProvider must have getMeter()')
  }
  const { topHits } = options
  if (topHits !== undefined && !(typeof topHits === 'number' && topHits >= 0 && topHits <= 1)) {
    throw new InvalidOptionsError('cacheInstrumentation: topHits must be a number from 0 to 1')
  }
  const { operations } = options
  if (
    operations !== undefined &&
    (!Array.isArray(operations) || !operations.every((op) => TRACED_OPERATIONS.includes(op)))
  ) {
    throw new InvalidOptionsError(
      `cacheInstrumentation: operations must be a list of ${TRACED_OPERATIONS.join(', ')}`,
    )
  }
  if (options.caches !== undefined && !Array.isArray(options.caches)) {
    throw new InvalidOptionsError('cacheInstrumentation: caches must be an array of CacheManager')
  }
  return options
}
