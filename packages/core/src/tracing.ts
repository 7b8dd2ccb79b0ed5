/**
 * `node:diagnostics_channel` tracing for APM tools: every public operation of a
 * `CacheManager` is traced on the channel `cacheplane.<operation>` (`cacheplane.get`,
 * `cacheplane.set`, ...) with a {@link TraceContext}; the synchronous `peek` with
 * `traceSync`, every other operation with `tracePromise`. The wrapper costs one property
 * read when nobody subscribed (`hasSubscribers`, Node >= 20.13; older Nodes never trace):
 * no context object, no closure, no extra promise.
 *
 * The factory a `getOrAdd` miss calls is traced on `cacheplane.factory` (operation
 * `factory`), inside the `getOrAdd` trace: a subscriber that binds a store to
 * `cacheplane.getOrAdd` finds it there and can nest the factory under the operation.
 */
import { type TracingChannel, tracingChannel } from 'node:diagnostics_channel'

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

/**
 * The traced operations and where their options object sits in the arguments (its
 * `region` goes into the context); -1: no key (clear); -2: the first argument is the region.
 */
const OPERATIONS = {
  get: 1,
  peek: 1,
  getItem: 1,
  has: 1,
  set: 2,
  add: 2,
  getOrAdd: 2,
  update: 2,
  tryUpdate: 2,
  addOrUpdate: 3,
  remove: 1,
  expire: 2,
  clear: -1,
  clearRegion: -2,
} as const

/** Operations that return synchronously (traced with `traceSync`, no promise). */
const SYNCHRONOUS: ReadonlySet<string> = new Set(['peek'])

/** Every traced operation name. */
export type TracedOperation = keyof typeof OPERATIONS

type Method = (this: { readonly name: string }, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => unknown

/**
 * Replaces each traced method of `prototype` by a wrapper that calls straight through
 * unless the operation's tracing channel has subscribers. Called once, on the class.
 */
export function instrumentTracing(prototype: object): void {
  const methods = prototype as Record<string, Method>
  for (const [operation, optionsAt] of Object.entries(OPERATIONS)) {
    const original = methods[operation]
    if (original === undefined) throw new Error(`tracing: CacheManager has no method '${operation}'`)
    const channel: TracingChannel<TraceContext> = tracingChannel(`cacheplane.${operation}`)
    const synchronous = SYNCHRONOUS.has(operation)
    methods[operation] = function traced(a, b, c, d) {
      if (channel.hasSubscribers !== true) return original.call(this, a, b, c, d)
      const args = [a, b, c, d]
      const options = optionsAt >= 0 ? (args[optionsAt] as { region?: unknown } | undefined) : undefined
      const context: TraceContext = {
        operation,
        cache: this.name,
        key: optionsAt === -1 || optionsAt === -2 ? undefined : (a as string),
        region: optionsAt === -2 ? (a as string) : (options?.region as string | undefined),
      }
      if (synchronous) return channel.traceSync(() => original.call(this, a, b, c, d), context)
      return channel.tracePromise(() => original.call(this, a, b, c, d) as Promise<unknown>, context)
    }
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
