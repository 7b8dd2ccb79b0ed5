// The OpenTelemetry SDK as an application would set it up, with in-memory exporters:
// finished spans are kept in an InMemorySpanExporter, metrics collected on demand into
// an InMemoryMetricExporter. An AsyncLocalStorage context manager makes parent spans work.
import { type Attributes, context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'

/** One data point: its attributes and its value (a number, or a histogram). */
export interface Point {
  readonly attributes: Attributes
  readonly value: number | Histogram
}

/** A tracer and a meter provider whose output the test can read. */
export interface TestSdk {
  readonly tracerProvider: BasicTracerProvider
  readonly meterProvider: MeterProvider
  /** Spans ended so far. */
  spans(): ReadableSpan[]
  /** Collects now; the points of metric `name` (empty when it has none). */
  points(name: string): Promise<Point[]>
  /** Shuts both providers down. */
  shutdown(): Promise<void>
}

let contextManager: AsyncLocalStorageContextManager | undefined

/** A fresh SDK for one test. */
export function testSdk(): TestSdk {
  if (contextManager === undefined) {
    contextManager = new AsyncLocalStorageContextManager().enable()
    context.setGlobalContextManager(contextManager)
  }
  const spanExporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] })
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // Exports on forceFlush only: the interval is far beyond any test.
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  })
  const meterProvider = new MeterProvider({ readers: [reader] })
  return {
    tracerProvider,
    meterProvider,
    spans: () => spanExporter.getFinishedSpans(),
    async points(name) {
      metricExporter.reset()
      await reader.forceFlush()
      const metrics: MetricData[] = metricExporter
        .getMetrics()
        .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
      const found = metrics.filter((metric) => metric.descriptor.name === name)
      return found.flatMap((metric) =>
        (metric.dataPoints as DataPoint<number | Histogram>[]).map((point) => ({
          attributes: point.attributes,
          value: point.value,
        })),
      )
    },
    async shutdown() {
      await tracerProvider.shutdown()
      await meterProvider.shutdown()
    },
  }
}

/** The value of the point of `points` whose attributes include `match`; undefined when none does. */
export function pointValue(points: readonly Point[], match: Attributes): number | Histogram | undefined {
  return points.find((point) => Object.entries(match).every(([k, v]) => point.attributes[k] === v))?.value
}
