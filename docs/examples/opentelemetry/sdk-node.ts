import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { type CacheInstrumentation, cacheInstrumentation } from '@cacheplane/opentelemetry'
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus'
import { NodeSDK, tracing } from '@opentelemetry/sdk-node'

interface Order {
  readonly total: number
}

/** Once at startup, before the caches: the SDK, then the instrumentation. */
export function startTelemetry(prometheusPort: number) {
  // In production the spans go to an OTLP exporter; kept in memory here so the test can read them.
  const spans = new tracing.InMemorySpanExporter()
  const sdk = new NodeSDK({
    serviceName: 'orders-api',
    spanProcessors: [new tracing.SimpleSpanProcessor(spans)],
    metricReader: new PrometheusExporter({ port: prometheusPort }), // http://localhost:<port>/metrics
  })
  sdk.start()
  // Without providers in its options, the instrumentation uses the global ones the SDK
  // registered. One per process: it traces every cache; metrics need `instrument(cache)`.
  const instrumentation = cacheInstrumentation()
  return { sdk, spans, instrumentation }
}

/** Each cache is added to the instrumentation once it is created. */
export function ordersCache(instrumentation: CacheInstrumentation): CacheManager<Order> {
  const orders = new CacheManager<Order>({ name: 'orders', handles: [memoryHandle()] })
  instrumentation.instrument(orders)
  return orders
}
