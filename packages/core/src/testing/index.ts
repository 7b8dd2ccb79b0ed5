// Public API of @cacheplane/core/testing: conformance suites, chaos wrappers and
// deadline helpers for tests of cacheplane and of custom handles and backplanes.

export {
  type DescribeCacheHandleOptions,
  describeCacheHandle,
  type HandleSuiteContext,
} from './describe-cache-handle.js'
export { randomKey, type WaitForOptions, waitFor } from './wait-for.js'
