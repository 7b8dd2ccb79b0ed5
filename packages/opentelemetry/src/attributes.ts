/**
 * Attribute and metric names. OpenTelemetry has no semantic conventions for caches yet
 * (open-telemetry/semantic-conventions#1747), so only two stable general attributes are
 * borrowed — `db.operation.name` for the operation and `error.type` for failures — and
 * everything cache-specific lives under the `cacheplane.` namespace, as the naming rules
 * ask of attributes a convention does not define (a future `cache.*` convention cannot
 * clash with them). No attribute ever carries a key; regions only when asked for.
 */

/** Stable OTel attribute: the operation (`get`, `set`, `getOrAdd`, ...). */
export const ATTR_DB_OPERATION_NAME = 'db.operation.name'
/** Stable OTel attribute: the error's `code` (`E_HANDLE_FAILED`, ...) or, failing that, its class name. */
export const ATTR_ERROR_TYPE = 'error.type'
/** The cache name, on every span and metric. */
export const ATTR_CACHE_NAME = 'cacheplane.cache.name'
/** The region of a key operation; on spans only, and only with `regionAttribute: true`. */
export const ATTR_REGION = 'cacheplane.region'
/** Whether a read found the key (`get`, `peek`, `getItem`, `has`, `getOrAdd` without calling its factory). */
export const ATTR_HIT = 'cacheplane.hit'
/** Index of the level: on a read span the level that answered (0 = top), on metrics the handle's level. */
export const ATTR_LEVEL = 'cacheplane.level'
/** Name of the handle: on a read span the one that answered, on metrics the one counted. */
export const ATTR_HANDLE = 'cacheplane.handle'
/** `hit` or `miss`, on {@link METRIC_READS}. */
export const ATTR_READ_RESULT = 'cacheplane.read.result'
/** `set`, `add`, `remove` or `clear`, on {@link METRIC_WRITES}. */
export const ATTR_WRITE_KIND = 'cacheplane.write.kind'
/** `sent` or `received`, on the backplane's frame and invalidation counters. */
export const ATTR_DIRECTION = 'cacheplane.direction'
/** What core did about a gap: `cleared` the local handles or `kept` them. */
export const ATTR_GAP_ACTION = 'cacheplane.gap.action'
/** Why the transport reported a gap (`reconnect`, `resubscribe`, ...: a short code per transport). */
export const ATTR_GAP_REASON = 'cacheplane.gap.reason'
/** `closed`, `open` or `half-open`, on {@link METRIC_CIRCUIT_STATE}. */
export const ATTR_CIRCUIT_STATE = 'cacheplane.circuit.state'

/** Counter: reads per handle, by {@link ATTR_READ_RESULT} (a memory miss answered by Redis is a memory miss and a Redis hit). */
export const METRIC_READS = 'cacheplane.handle.reads'
/** Counter: items written per handle, by {@link ATTR_WRITE_KIND} (copies from lower levels included). */
export const METRIC_WRITES = 'cacheplane.handle.writes'
/** Counter: items a handle dropped by itself (expired, evicted, removed externally). */
export const METRIC_EVICTIONS = 'cacheplane.handle.evictions'
/** Counter: failed handle calls, corrupt items and fast failures of an open circuit. */
export const METRIC_ERRORS = 'cacheplane.handle.errors'
/** Gauge: 1 for the circuit state each handle is in, 0 for the others (summed over same-name caches). */
export const METRIC_CIRCUIT_STATE = 'cacheplane.handle.circuit.state'
/** Gauge: keys whose failed store write may still land, probed until it cannot (`stats().unsettledWrites`). */
export const METRIC_UNSETTLED_WRITES = 'cacheplane.writes.unsettled'
/** Counter: backplane frames, by {@link ATTR_DIRECTION} (received counts own and invalid frames too). */
export const METRIC_FRAMES = 'cacheplane.backplane.frames'
/** Counter: invalidation messages, by {@link ATTR_DIRECTION} (sent: published; received: applied here). */
export const METRIC_INVALIDATIONS = 'cacheplane.backplane.invalidations'
/** Counter: incoming frames rejected as malformed, foreign or badly signed. */
export const METRIC_INVALID_FRAMES = 'cacheplane.backplane.frames.invalid'
/** Counter: publish attempts that failed (each is retried). */
export const METRIC_PUBLISH_FAILURES = 'cacheplane.backplane.publish.failures'
/** Counter: times the outbound queue overflowed and collapsed into one `cleared`. */
export const METRIC_QUEUE_OVERFLOWS = 'cacheplane.backplane.queue.overflows'
/** Gauge: messages waiting to be published. */
export const METRIC_QUEUE_DEPTH = 'cacheplane.backplane.queue.depth'
/** Gauge: 1 while the backplane is connected, else 0. */
export const METRIC_CONNECTED = 'cacheplane.backplane.connected'
/** Counter: gaps the transport reported, by {@link ATTR_GAP_ACTION} and {@link ATTR_GAP_REASON}. */
export const METRIC_GAPS = 'cacheplane.backplane.gaps'
/** Histogram, seconds: a frame's send time (sender's clock) to its application here (this host's clock). */
export const METRIC_PROPAGATION = 'cacheplane.backplane.propagation.duration'
