// Public API of @cacheplane/core. Each line names the module that owns the export.

export type {
  BulkEntry,
  CacheHandle,
  EvictListener,
  EvictReason,
  Expiration,
  ExpirationMode,
  ExternalClearListener,
  HandleCapabilities,
  ItemInput,
  MaybePromise,
  RegionClearStrategy,
  StoredItem,
  UpdateOutcome,
} from './contracts/cache-handle.js'
export type {
  Backplane,
  BackplaneCapabilities,
  BackplaneGap,
  BackplaneListener,
  BackplaneState,
  BackplaneSubscription,
} from './contracts/backplane.js'
export type { Serializer } from './contracts/serializer.js'
export type { HandleLock } from './contracts/handle-lock.js'
export { lockKeyPrefix } from './lock-key.js'
export type { DistributedLockOption, DistributedLockOptions } from './distributed-lock.js'
export type { WakeReason } from './lock-waiters.js'
export * from './errors.js'
export { cacheKeyPrefix, escapeSegment, regionKeyPrefix, storeKey, unescapeSegment } from './store-key.js'
export type { BackplaneMessage, ChangeKind, DecodedFrame } from './backplane/messages.js'
export * from './backplane/frame-codec.js'
export * from './backplane/memory-backplane.js'
export * from './backplane/liveness-probe.js'
export * from './serializers.js'
export * from './envelope.js'
export { newVersion } from './item-version.js'
export { Backoff, type BackoffOptions } from './backoff.js'
// Parts for adapter authors: generations (stores that cannot delete by prefix), binding, CAS loops, corrupt items.
export {
  type GenerationCountersOptions,
  type GenerationKeyBuilder,
  type GenerationStore,
  GenerationCounters,
} from './generation-counters.js'
export { ExternalClearSweep, type Sweepable } from './external-clear-sweep.js'
export { HandleBinding } from './handle-binding.js'
export { GenerationBinding, type GenerationScope } from './generation-binding.js'
export {
  type CompareAndSetContext,
  defaultCasAttempts,
  RETRY_ROUND,
  retryCompareAndSet,
} from './compare-and-set.js'
export { decodeStoredItem } from './stored-item.js'
export * from './cache-manager.js'
export type * from './events.js'
export type * from './stats.js'
export type { TraceContext } from './tracing.js'
