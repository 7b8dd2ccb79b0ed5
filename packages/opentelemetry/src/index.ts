// Public API of @cacheplane/opentelemetry. Each line names the module that owns the export.

export {
  type CacheInstrumentation,
  type CacheInstrumentationOptions,
  cacheInstrumentation,
  INSTRUMENTATION_SCOPE,
  type TracedOperation,
} from './instrumentation.js'
export * from './attributes.js'
