// Public API of @cacheplane/opentelemetry, by name. The API report
// (etc/opentelemetry.api.md, `pnpm api:check`) shows every change to it.

export {
  type CacheInstrumentation,
  type CacheInstrumentationOptions,
  cacheInstrumentation,
  INSTRUMENTATION_SCOPE,
  type InstrumentedCache,
} from './instrumentation.js'
export type { TracedOperation } from '@cacheplane/core'
// The attribute and metric names, for queries and dashboards.
export {
  ATTR_CACHE_NAME,
  ATTR_CIRCUIT_STATE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DIRECTION,
  ATTR_ERROR_TYPE,
  ATTR_GAP_ACTION,
  ATTR_GAP_REASON,
  ATTR_HANDLE,
  ATTR_HIT,
  ATTR_LEVEL,
  ATTR_READ_RESULT,
  ATTR_REGION,
  ATTR_WRITE_KIND,
  METRIC_CIRCUIT_STATE,
  METRIC_CONNECTED,
  METRIC_ERRORS,
  METRIC_EVICTIONS,
  METRIC_FRAMES,
  METRIC_GAPS,
  METRIC_INVALIDATIONS,
  METRIC_INVALID_FRAMES,
  METRIC_PROPAGATION,
  METRIC_PUBLISH_FAILURES,
  METRIC_QUEUE_DEPTH,
  METRIC_QUEUE_OVERFLOWS,
  METRIC_READS,
  METRIC_UNSETTLED_WRITES,
  METRIC_WRITES,
} from './attributes.js'
