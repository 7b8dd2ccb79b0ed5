// Public API of @cacheplane/core. Each line names the module that owns the export.

export type {
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
export * from './errors.js'
export { cacheKeyPrefix, escapeSegment, regionKeyPrefix, storeKey } from './store-key.js'
export type { BackplaneMessage, ChangeKind, DecodedFrame } from './backplane/messages.js'
export * from './backplane/frame-codec.js'
export * from './backplane/memory-backplane.js'
export * from './backplane/liveness-probe.js'
export * from './serializers.js'
export * from './envelope.js'
export { newVersion } from './item-version.js'
export * from './cache-manager.js'
export type * from './events.js'
export type * from './stats.js'
export type { TopHit, TraceContext } from './tracing.js'
