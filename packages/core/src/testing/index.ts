// Public API of @cacheplane/core/testing: conformance suites, chaos wrappers and
// deadline helpers for tests of cacheplane and of custom handles and backplanes.

export { type ChaosBackplane, type ChaosBackplaneControls, chaosBackplane } from './chaos-backplane.js'
export {
  type ChaosHandle,
  type ChaosHandleControls,
  type ChaosHandleOptions,
  type ChaosOperation,
  chaosHandle,
} from './chaos-handle.js'
export { type DescribeBackplaneOptions, describeBackplane } from './describe-backplane.js'
export {
  type DescribeCacheHandleOptions,
  describeCacheHandle,
  type HandleSuiteContext,
} from './describe-cache-handle.js'
export { removeAndReAddDuringUpdate } from './update-race.js'
export { randomKey, type WaitForOptions, waitFor } from './wait-for.js'
