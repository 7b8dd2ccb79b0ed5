/**
 * Start-up pieces of `CacheManager`: binding the handles to the cache name, and the
 * backplane bus wired to the sync engine's receive side.
 */
import { BackplaneBus, newSenderId } from './backplane/backplane-bus.js'
import { DEFAULT_MAX_FRAME_BYTES } from './backplane/frame-codec.js'
import { BackplaneFailedError, CacheplaneError, HandleFailedError } from './errors.js'
import type { CacheEmitter } from './events.js'
import { type Layer, reportError } from './layer.js'
import type { LocalTrust } from './local-trust.js'
import type { ResolvedManagerOptions } from './manager-options.js'
import type { SyncEngine } from './sync-engine.js'

/**
 * Calls `bind` on every handle. Throws a synchronous failure at once; returns a promise
 * when some handle binds asynchronously, undefined when all bound synchronously.
 */
export function bindHandles(layers: readonly Layer[], cacheName: string): Promise<void> | undefined {
  const pending: Promise<void>[] = []
  for (const layer of layers) {
    try {
      const result = layer.handle.bind?.(cacheName)
      if (result instanceof Promise)
        pending.push(result.catch((raw) => Promise.reject(bindError(layer, raw))))
    } catch (raw) {
      throw bindError(layer, raw)
    }
  }
  return pending.length === 0 ? undefined : Promise.all(pending).then(() => undefined)
}

/** The bus of a manager: announcements from the engine out, remote messages, gaps and state in. */
export function createBus(
  options: ResolvedManagerOptions,
  engine: SyncEngine,
  emitter: CacheEmitter,
  trust: LocalTrust,
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
      onMessages: (messages, _sender, sentAt) => {
        engine.applyRemote(messages)
        if (emitter.has('frame')) {
          const latencyMs = sentAt === undefined ? undefined : Date.now() - sentAt
          emitter.emit('frame', { messages: messages.length, sentAt, latencyMs })
        }
      },
      onGap: (gap) => trust.onGap(gap),
      onState: (state) => trust.onState(state),
      onError: (error) => reportError(emitter, undefined, 'backplane', error),
    },
  })
  engine.announcer = bus
  engine.announcesWithBottomWrite =
    !engine.bottom.sync && backplane.ordersAfter?.(engine.bottom.handle) === true
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
