/**
 * Start-up pieces of `CacheManager`: binding the handles to the cache name, and the
 * backplane bus wired to the sync engine's receive side.
 */
import { BackplaneBus, newSenderId } from './backplane/backplane-bus.js'
import { DEFAULT_MAX_FRAME_BYTES } from './backplane/frame-codec.js'
import type { CacheHandle } from './contracts/cache-handle.js'
import { BackplaneFailedError, CacheplaneError, HandleFailedError, InvalidOptionsError } from './errors.js'
import type { CacheEmitter } from './events.js'
import { type Layer, reportError } from './layer.js'
import type { ResolvedManagerOptions } from './manager-options.js'
import type { SyncEngine } from './sync-engine.js'

/** The cache name each handle serves and how many open managers use it (see {@link claimHandle}). */
const claims = new WeakMap<CacheHandle<unknown>, { readonly cacheName: string; managers: number }>()

/**
 * The one rule for a handle given to several managers, enforced here so that every handle
 * follows it whether or not its own `bind` checks. A local handle belongs to one manager:
 * it is that manager's private copy, kept right by its fence and its invalidations, which
 * another manager's writes would bypass. A distributed handle may serve several managers
 * of one cache name (like two connections to one server), never two cache names: its keys
 * are scoped by one. Throws InvalidOptionsError otherwise.
 */
function claimHandle(layer: Layer, cacheName: string): void {
  const claim = claims.get(layer.handle)
  if (claim === undefined) {
    claims.set(layer.handle, { cacheName, managers: 1 })
    return
  }
  if (layer.local) {
    throw new InvalidOptionsError(
      `handle '${layer.name}' is already used by a manager of cache '${claim.cacheName}': a local handle belongs to one manager, create one per manager`,
      { source: layer.name },
    )
  }
  if (claim.cacheName !== cacheName) {
    throw new InvalidOptionsError(
      `distributed handle '${layer.name}' serves cache '${claim.cacheName}' and cannot also serve cache '${cacheName}': create one handle per cache`,
      { source: layer.name },
    )
  }
  claim.managers++
}

/** Gives the handles of a closed (or failed) manager back: another manager may then use them. */
export function releaseHandles(layers: readonly Layer[]): void {
  for (const layer of layers) {
    const claim = claims.get(layer.handle)
    if (claim !== undefined && --claim.managers === 0) claims.delete(layer.handle)
  }
}

/**
 * Claims every handle for `cacheName` (see {@link claimHandle}), then calls `bind` on each.
 * Throws a synchronous failure at once (with the claims given back); returns a promise
 * when some handle binds asynchronously, undefined when all bound synchronously.
 */
export function bindHandles(layers: readonly Layer[], cacheName: string): Promise<void> | undefined {
  const claimed: Layer[] = []
  const pending: Promise<void>[] = []
  try {
    for (const layer of layers) {
      claimHandle(layer, cacheName)
      claimed.push(layer)
    }
    for (const layer of layers) {
      try {
        const result = layer.handle.bind?.(cacheName)
        if (result instanceof Promise)
          pending.push(result.catch((raw) => Promise.reject(bindError(layer, raw))))
      } catch (raw) {
        throw bindError(layer, raw)
      }
    }
  } catch (error) {
    releaseHandles(claimed)
    throw error
  }
  return pending.length === 0 ? undefined : Promise.all(pending).then(() => undefined)
}

/** The bus of a manager: announcements from the engine out, remote messages, gaps and state in. */
export function createBus(
  options: ResolvedManagerOptions,
  engine: SyncEngine,
  emitter: CacheEmitter,
): BackplaneBus {
  const backplane = options.backplane!
  const bus = new BackplaneBus({
    backplane,
    channel: options.channel,
    senderId: newSenderId(),
    secret: options.secret,
    maxQueue: options.maxQueue,
    // Frames we accept are bounded by the codec's default (1 MiB, far above any key-only
    // batch); sending also respects the transport's own limit, read per batch by the bus.
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    retry: options.retry,
    closeTimeoutMs: options.closeTimeoutMs,
    handlers: {
      onMessages: (messages) => engine.applyRemote(messages),
      onGap: (gap) => engine.applyGap(gap),
      onState: (state) => engine.applyState(state),
      onError: (error) => reportError(emitter, undefined, 'backplane', error),
    },
  })
  engine.announcer = bus
  return bus
}

function bindError(layer: Layer, raw: unknown): CacheplaneError {
  if (raw instanceof CacheplaneError) return raw
  return new HandleFailedError(`bind failed on handle '${layer.name}'`, { cause: raw, source: layer.name })
}

/** A backplane failure as a typed error. */
export function asBackplaneError(error: unknown): CacheplaneError {
  if (error instanceof CacheplaneError) return error
  return new BackplaneFailedError('backplane failed', { cause: error })
}
