/**
 * `node:diagnostics_channel` tracing for APM tools. Each public operation of a
 * `CacheManager` is traced on the tracing channel `cacheplane.<operation>` (`cacheplane.get`,
 * `cacheplane.set`, ...) with a {@link TraceContext}: the synchronous `peek` with
 * `traceSync`, every other operation with `tracePromise`. The manager's methods call
 * these channels themselves (`cache-manager.ts`); nothing is patched.
 *
 * A read the top level answers on the fast path (a memory hit of `get`, `getOrAdd` or
 * `peek`) is not traced: it completes synchronously in a fraction of a microsecond, where a
 * trace (a context object, five publishes, a wrapping promise) would cost several times
 * the read. It is published as one message on the plain channel `cacheplane.topHit`
 * instead ({@link TopHit}), and only while that channel has subscribers, so a memory hit
 * costs one property read when nobody listens. Everything else a read does — a top miss
 * and the walk down, a call that waits for `bind` or fails on its arguments — is traced
 * on the operation's channel.
 *
 * The factory a `getOrAdd` miss calls is traced on `cacheplane.factory` (operation
 * `factory`), inside the `getOrAdd` trace: a subscriber that binds a store to
 * `cacheplane.getOrAdd` finds it there and can nest the factory under the operation.
 *
 * `hasSubscribers` on a tracing channel needs Node >= 20.13; older Nodes never trace.
 */
import { type Channel, channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel'

/** What a tracing subscriber receives as the context of one operation. */
export interface TraceContext {
  /** The operation: `get`, `set`, `getOrAdd`, ... */
  readonly operation: string
  /** The cache name. */
  readonly cache: string
  /** The key, for key operations. */
  readonly key: string | undefined
  /** The region, when given (for `clearRegion`: the region cleared). */
  readonly region: string | undefined
}

/** What `cacheplane.topHit` carries: a read the top level answered on the fast path. */
export interface TopHit {
  /** `get`, `getOrAdd` or `peek`. */
  readonly operation: 'get' | 'getOrAdd' | 'peek'
  /** The cache name. */
  readonly cache: string
  /** The key read. */
  readonly key: string
  /** The region, when given. */
  readonly region: string | undefined
  /** Name of the top handle, which answered (level 0). */
  readonly handle: string
}

/** Every traced operation name. */
export type TracedOperation =
  | 'get'
  | 'peek'
  | 'getItem'
  | 'has'
  | 'set'
  | 'add'
  | 'getOrAdd'
  | 'update'
  | 'tryUpdate'
  | 'addOrUpdate'
  | 'remove'
  | 'expire'
  | 'clear'
  | 'clearRegion'
  | 'getMany'
  | 'setMany'
  | 'removeMany'

/** Every operation traced on `cacheplane.<operation>` (what a subscriber such as the OpenTelemetry package listens to). */
export const TRACED_OPERATIONS: readonly TracedOperation[] = [
  'get',
  'peek',
  'getItem',
  'has',
  'set',
  'add',
  'getOrAdd',
  'update',
  'tryUpdate',
  'addOrUpdate',
  'remove',
  'expire',
  'clear',
  'clearRegion',
  'getMany',
  'setMany',
  'removeMany',
]

/** The tracing channel of each operation, created once (channel lookups by name are not free). */
export const traceChannels = Object.fromEntries(
  TRACED_OPERATIONS.map((operation) => [operation, tracingChannel<TraceContext>(`cacheplane.${operation}`)]),
) as Readonly<Record<TracedOperation, TracingChannel<TraceContext, TraceContext>>>

const topHitChannel: Channel = channel('cacheplane.topHit')

/** True while someone listens to `cacheplane.topHit` (checked before building a message). */
export function topHitListened(): boolean {
  return topHitChannel.hasSubscribers
}

/** Publishes a fast-path top hit; the caller checked {@link topHitListened}. */
export function publishTopHit(
  operation: TopHit['operation'],
  cache: string,
  key: string,
  region: string | undefined,
  handle: string,
): void {
  const message: TopHit = { operation, cache, key, region, handle }
  topHitChannel.publish(message)
}

/**
 * Calls `run` on `manager` with `args`, traced on the channel of `operation` (the caller
 * checked it has subscribers). The key is the first argument, the region that of `options`
 * (whatever the caller passed, unchecked yet); `clear` and `clearRegion` have no key.
 */
export function traced<A extends unknown[], R>(
  operation: TracedOperation,
  manager: { readonly name: string },
  options: unknown,
  run: (...args: A) => Promise<R>,
  ...args: A
): Promise<R> {
  return traceChannels[operation].tracePromise(
    run,
    context(operation, manager.name, args[0], options),
    manager,
    ...args,
  )
}

/** {@link traced} for the synchronous `peek`. */
export function tracedSync<A extends unknown[], R>(
  manager: { readonly name: string },
  options: unknown,
  run: (...args: A) => R,
  ...args: A
): R {
  return traceChannels.peek.traceSync(run, context('peek', manager.name, args[0], options), manager, ...args)
}

function context(operation: TracedOperation, cache: string, key: unknown, options: unknown): TraceContext {
  const region =
    typeof options === 'object' && options !== null ? (options as { region?: unknown }).region : undefined
  // Bulk calls and clears name no single key (a bulk call's keys would be unbounded attributes).
  const keyed = typeof key === 'string' && operation !== 'clearRegion'
  return {
    operation,
    cache,
    key: keyed ? (key as string) : undefined,
    region: typeof region === 'string' ? region : undefined,
  }
}

const factoryChannel: TracingChannel<TraceContext> = tracingChannel('cacheplane.factory')

/** Runs a `getOrAdd` factory call (`run`), traced on `cacheplane.factory` while someone subscribes. */
export function traceFactory<V>(
  cache: string,
  key: string,
  region: string | undefined,
  run: () => V | Promise<V>,
): V | Promise<V> {
  if (factoryChannel.hasSubscribers !== true) return run()
  const context: TraceContext = { operation: 'factory', cache, key, region }
  // tracePromise needs a promise; an async wrapper also turns a synchronous throw into one.
  return factoryChannel.tracePromise(async () => run(), context)
}
