/**
 * Metrics of instrumented caches. Almost everything is read from `cache.stats()` when the
 * SDK collects (observable instruments): core already keeps those counters on the hot path,
 * so recording them costs a memory-hit `get` nothing. Only what stats cannot say comes from
 * events: gaps with the action taken, and the propagation latency of each remote frame.
 */
import type { BackplaneEvent, CacheManager, CacheStats, CircuitState, FrameEvent } from '@cacheplane/core'
import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  Observable,
} from '@opentelemetry/api'
import {
  ATTR_CACHE_NAME,
  ATTR_CIRCUIT_STATE,
  ATTR_DIRECTION,
  ATTR_GAP_ACTION,
  ATTR_GAP_REASON,
  ATTR_HANDLE,
  ATTR_LEVEL,
  ATTR_READ_RESULT,
  ATTR_WRITE_KIND,
  METRIC_CIRCUIT_STATE,
  METRIC_CONNECTED,
  METRIC_ERRORS,
  METRIC_EVICTIONS,
  METRIC_FRAMES,
  METRIC_GAPS,
  METRIC_INVALID_FRAMES,
  METRIC_INVALIDATIONS,
  METRIC_PROPAGATION,
  METRIC_PUBLISH_FAILURES,
  METRIC_QUEUE_DEPTH,
  METRIC_QUEUE_OVERFLOWS,
  METRIC_READS,
  METRIC_UNSETTLED_WRITES,
  METRIC_WRITES,
} from './attributes.js'
import { Observations } from './observations.js'

// biome-ignore lint/suspicious/noExplicitAny: any value type; only name, stats and events are used.
type AnyCache = CacheManager<any>

const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open']

/**
 * Bucket boundaries of the propagation histogram, seconds: sub-millisecond (one host) to
 * 10 s (a backlog behind a reconnect). The SDK's defaults start at 0 and jump to 5 s.
 */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** The observable instruments read from stats. */
interface StatsInstruments {
  readonly reads: Observable
  readonly writes: Observable
  readonly evictions: Observable
  readonly errors: Observable
  readonly circuit: Observable
  readonly unsettled: Observable
  readonly frames: Observable
  readonly invalidations: Observable
  readonly invalidFrames: Observable
  readonly publishFailures: Observable
  readonly overflows: Observable
  readonly queueDepth: Observable
  readonly connected: Observable
}

function createStatsInstruments(meter: Meter): StatsInstruments {
  const counter = (name: string, unit: string, description: string) =>
    meter.createObservableCounter(name, { unit, description })
  const gauge = (name: string, unit: string, description: string) =>
    meter.createObservableGauge(name, { unit, description })
  return {
    reads: counter(METRIC_READS, '{read}', 'Reads per handle, by result (hit or miss).'),
    writes: counter(METRIC_WRITES, '{write}', 'Items written per handle, by kind.'),
    evictions: counter(METRIC_EVICTIONS, '{item}', 'Items a handle dropped by itself.'),
    errors: counter(METRIC_ERRORS, '{error}', 'Failed handle calls and fast failures of an open circuit.'),
    circuit: gauge(METRIC_CIRCUIT_STATE, '{state}', '1 for the circuit state a handle is in, 0 otherwise.'),
    unsettled: gauge(METRIC_UNSETTLED_WRITES, '{key}', 'Keys whose failed store write may still land.'),
    frames: counter(METRIC_FRAMES, '{frame}', 'Backplane frames sent and received.'),
    invalidations: counter(METRIC_INVALIDATIONS, '{message}', 'Invalidations sent and received.'),
    invalidFrames: counter(METRIC_INVALID_FRAMES, '{frame}', 'Incoming frames rejected as invalid.'),
    publishFailures: counter(METRIC_PUBLISH_FAILURES, '{attempt}', 'Failed publish attempts.'),
    overflows: counter(METRIC_QUEUE_OVERFLOWS, '{overflow}', 'Outbound queue overflows.'),
    queueDepth: gauge(METRIC_QUEUE_DEPTH, '{message}', 'Messages waiting to be published.'),
    connected: gauge(METRIC_CONNECTED, '1', '1 while the backplane is connected.'),
  }
}

/** Records the metrics of the caches added to it. */
export class CacheMetrics {
  readonly #caches = new Set<AnyCache>()
  readonly #meter: Meter
  readonly #stats: StatsInstruments
  readonly #gaps: Counter
  readonly #propagation: Histogram
  readonly #callback: BatchObservableCallback

  constructor(meter: Meter) {
    this.#meter = meter
    this.#stats = createStatsInstruments(meter)
    this.#gaps = meter.createCounter(METRIC_GAPS, {
      unit: '{gap}',
      description: 'Backplane gaps, by the action taken and the reason.',
    })
    this.#propagation = meter.createHistogram(METRIC_PROPAGATION, {
      unit: 's',
      description: "A frame's send time (sender's clock) to its application here.",
      advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
    })
    this.#callback = (result) => {
      const observations = new Observations()
      for (const cache of this.#caches) this.#observe(observations, cache.name, cache.stats())
      observations.report(result)
    }
    meter.addBatchObservableCallback(this.#callback, Object.values(this.#stats))
  }

  /** Starts recording `cache`; returns a function that stops. */
  add(cache: AnyCache): () => void {
    const name = cache.name
    const backplane = (event: BackplaneEvent) => {
      if (event.type !== 'gap') return
      this.#gaps.add(1, {
        [ATTR_CACHE_NAME]: name,
        [ATTR_GAP_ACTION]: event.action,
        [ATTR_GAP_REASON]: event.gap.reason,
      })
    }
    const frame = (event: FrameEvent) => {
      if (event.latencyMs === undefined) return
      // Clock offset between hosts can make it negative; a histogram of durations cannot take that.
      this.#propagation.record(Math.max(0, event.latencyMs) / 1000, { [ATTR_CACHE_NAME]: name })
    }
    this.#caches.add(cache)
    cache.on('backplane', backplane)
    cache.on('frame', frame)
    return () => {
      this.#caches.delete(cache)
      cache.off('backplane', backplane)
      cache.off('frame', frame)
    }
  }

  /** Stops recording every cache and detaches the observable callback. */
  close(): void {
    this.#caches.clear()
    this.#meter.removeBatchObservableCallback(this.#callback, Object.values(this.#stats))
  }

  #observe(out: Observations, cacheName: string, stats: CacheStats): void {
    const s = this.#stats
    let level = 0
    for (const [handle, counters] of Object.entries(stats.handles)) {
      const base: Attributes = { [ATTR_CACHE_NAME]: cacheName, [ATTR_HANDLE]: handle, [ATTR_LEVEL]: level++ }
      out.add(s.reads, { ...base, [ATTR_READ_RESULT]: 'hit' }, counters.hits)
      out.add(s.reads, { ...base, [ATTR_READ_RESULT]: 'miss' }, counters.misses)
      out.add(s.writes, { ...base, [ATTR_WRITE_KIND]: 'set' }, counters.sets)
      out.add(s.writes, { ...base, [ATTR_WRITE_KIND]: 'add' }, counters.adds)
      out.add(s.writes, { ...base, [ATTR_WRITE_KIND]: 'remove' }, counters.removes)
      out.add(s.writes, { ...base, [ATTR_WRITE_KIND]: 'clear' }, counters.clears)
      out.add(s.evictions, base, counters.evictions)
      out.add(s.errors, base, counters.errors)
      for (const state of CIRCUIT_STATES) {
        out.add(s.circuit, { ...base, [ATTR_CIRCUIT_STATE]: state }, counters.circuit === state ? 1 : 0)
      }
    }
    const base: Attributes = { [ATTR_CACHE_NAME]: cacheName }
    out.add(s.unsettled, base, stats.unsettledWrites)
    const bus = stats.backplane
    if (bus === undefined) return
    out.add(s.frames, { ...base, [ATTR_DIRECTION]: 'sent' }, bus.framesSent)
    out.add(s.frames, { ...base, [ATTR_DIRECTION]: 'received' }, bus.framesReceived)
    out.add(s.invalidations, { ...base, [ATTR_DIRECTION]: 'sent' }, bus.messagesSent)
    out.add(s.invalidations, { ...base, [ATTR_DIRECTION]: 'received' }, bus.messagesReceived)
    out.add(s.invalidFrames, base, bus.droppedInvalid)
    out.add(s.publishFailures, base, bus.publishFailures)
    out.add(s.overflows, base, bus.overflows)
    out.add(s.queueDepth, base, bus.queued)
    out.add(s.connected, base, bus.connected ? 1 : 0)
  }
}
