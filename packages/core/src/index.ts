// Public API of @cacheplane/core, by name: what applications, and authors of handles,
// backplanes and tools, use. Everything else is internal and may change in any release.
// The API report (etc/core.api.md, `pnpm api:check`) shows every change to this surface.

// The manager and what its calls take and return.
export { CacheManager } from './cache-manager.js'
export type {
  CacheItem,
  Factory,
  FactoryContext,
  FactoryFailure,
  GetOptions,
  GetOrAddOptions,
  ReadOptions,
  UpdateOptions,
  WriteOptions,
} from './call-options.js'
export type { CacheManagerOptions } from './manager-options.js'
export type { ResilienceOptions } from './resilience-options.js'
export type { GapAction, GapPolicy } from './sync-engine.js'
export type { BackplaneDownMode } from './local-trust.js'
export type { UpdateFailure, UpdateResult } from './write-loops.js'
export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js'
export { MAX_TAGS, splitTaggedBytes } from './tags.js'

// Events, stats and diagnostics_channel tracing.
export type {
  BackplaneEvent,
  CacheEventName,
  CacheEvents,
  CacheListener,
  ClearEvent,
  ClearRegionEvent,
  DistributedLockEvent,
  EagerRefreshEvent,
  EagerRefreshReason,
  ErrorEvent,
  EvictEvent,
  FactoryTimeoutEvent,
  FailSafeEvent,
  FailSafeReason,
  FrameEvent,
  GetEvent,
  KeyEvent,
  Origin,
  RemoveByTagEvent,
} from './events.js'
export type { BackplaneStats, CacheStats, FactoryStats, HandleStats } from './stats.js'
export type { BackplaneBusStats } from './backplane/bus-options.js'
export { type TopHit, type TraceContext, TRACED_OPERATIONS, type TracedOperation } from './tracing.js'

// Errors: one class per stable code, and the `errors` map of them.
export {
  BackplaneFailedError,
  CacheplaneError,
  CircuitOpenError,
  ClosedError,
  ConflictError,
  type ErrorCode,
  errors,
  FactoryError,
  FactoryTimeoutError,
  FactoryUndefinedError,
  FrameInvalidError,
  FrameSignatureError,
  HandleFailedError,
  InvalidExpirationError,
  InvalidKeyError,
  InvalidOptionsError,
  InvalidValueError,
  ItemCorruptError,
  NotSupportedError,
  SerializeError,
  UpdateConflictError,
  UpdateMissingError,
  ValueTooLargeError,
} from './errors.js'

// Serializers an application picks from (or writes its own: the Serializer contract).
export { JSON_FORMAT_TAG, jsonSerializer, V8_FORMAT_TAG, v8Serializer } from './serializers.js'
export type { Serializer } from './contracts/serializer.js'

// The in-process backplane (one process, tests).
export {
  type BackplaneHub,
  type BackplaneHubOptions,
  createBackplaneHub,
  type HubSubscriber,
  type MemoryBackplaneOptions,
  memoryBackplane,
} from './backplane/memory-backplane.js'

// For authors of handles: the contract, and the key layout, stored envelope and versions
// every distributed handle shares.
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
export { cacheKeyPrefix, escapeSegment, regionKeyPrefix, storeKey, unescapeSegment } from './store-key.js'
export { decodeEnvelope, ENVELOPE_MODE_CODES, encodeEnvelope } from './envelope.js'
export { newVersion } from './item-version.js'
export { HIT_CLOCK_READS, hitClock, hitClockSince } from './hit-clock.js'

// For authors of backplanes: the contract and the liveness probe of a silent subscription.
export type {
  Backplane,
  BackplaneCapabilities,
  BackplaneGap,
  BackplaneListener,
  BackplaneState,
  BackplaneSubscription,
} from './contracts/backplane.js'
export {
  DEFAULT_MAX_SILENCE_MS,
  LivenessProbe,
  type LivenessProbeOptions,
  MAX_MAX_SILENCE_MS,
  MIN_MAX_SILENCE_MS,
  resolveMaxSilenceMs,
} from './backplane/liveness-probe.js'

// For tools that read a backplane channel (the CLI): the frame codec's entry points.
export type { BackplaneMessage, ChangeKind, DecodedFrame } from './backplane/messages.js'
export {
  DEFAULT_MAX_FRAME_BYTES,
  decodeFrame,
  encodeFrame,
  FRAME_HEADER_BYTES,
  type FrameCodecOptions,
  type FrameSecret,
} from './backplane/frame-codec.js'

// For authors of handles: the optional cluster lock of getOrAdd's `distributedLock`.
export type { HandleLock } from './contracts/handle-lock.js'
export { lockKeyPrefix } from './lock-key.js'
export type { DistributedLockOption, DistributedLockOptions } from './distributed-lock.js'
export type { WakeReason } from './lock-waiters.js'

// For authors of adapters: one backoff, and the parts of generation-keyed stores (stores that
// cannot delete by prefix), binding, CAS loops and the corrupt-item policy.
export { Backoff, type BackoffOptions } from './backoff.js'
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
