/**
 * An in-process backplane: several managers in one process synchronise through a
 * hub exactly as they would through Redis pub/sub. The hub is an explicit object (no
 * module state), so tests and demos build as many isolated "servers" as they need.
 *
 * Delivery behaves like a network: frames arrive on a later turn of the event loop,
 * never inside `publish`'s call stack, in publish order, to every subscriber of the
 * channel (the sender included), each with its own copy of the bytes. One memory
 * backplane serves any number of caches, each subscription on its own channel.
 */
import type { Backplane, BackplaneListener, BackplaneSubscription } from '../contracts/backplane.js'
import { BackplaneFailedError, InvalidOptionsError } from '../errors.js'

/** Largest frame the in-process hub carries: 64 MiB. */
export const MEMORY_BACKPLANE_MAX_FRAME_BYTES = 64 * 1024 * 1024

/** Receives frames of one subscription. */
export type HubSubscriber = (frame: Uint8Array) => void

/** Options of {@link createBackplaneHub}. */
export interface BackplaneHubOptions {
  /** Called when a subscriber throws (the contract forbids it); defaults to a process warning. */
  onSubscriberError?: ((error: unknown, channel: string) => void) | undefined
}

/** The in-process "pub/sub server" that memory backplanes connect to. */
export interface BackplaneHub {
  /** Subscribes to a channel; returns the function that unsubscribes. */
  subscribe(channel: string, subscriber: HubSubscriber): () => void
  /** Delivers a copy of `frame` asynchronously to every current subscriber of `channel`. */
  publish(channel: string, frame: Uint8Array): void
  /** Number of subscriptions on a channel (a test affordance). */
  subscriberCount(channel: string): number
  /** Frames published so far on any channel (a test affordance). */
  readonly framesPublished: number
}

/** Creates an isolated hub: backplanes on different hubs never hear each other. */
export function createBackplaneHub(options: BackplaneHubOptions = {}): BackplaneHub {
  const channels = new Map<string, Set<HubSubscriber>>()
  const onSubscriberError =
    options.onSubscriberError ??
    ((error: unknown, channel: string) => {
      process.emitWarning(`memory backplane subscriber on channel ${channel} threw: ${String(error)}`)
    })
  let framesPublished = 0

  return {
    subscribe(channel, subscriber) {
      let subscribers = channels.get(channel)
      if (subscribers === undefined) {
        subscribers = new Set()
        channels.set(channel, subscribers)
      }
      subscribers.add(subscriber)
      return () => {
        const current = channels.get(channel)
        if (current === undefined) return
        current.delete(subscriber)
        if (current.size === 0) channels.delete(channel)
      }
    },
    publish(channel, frame) {
      framesPublished++
      // Like a server: the frame goes to whoever is subscribed now, with bytes fixed now.
      const subscribers = [...(channels.get(channel) ?? [])]
      if (subscribers.length === 0) return
      // `new Uint8Array(view)` copies; `Buffer#slice` would not.
      const bytes = new Uint8Array(frame)
      setImmediate(() => {
        for (const subscriber of subscribers) {
          // Unsubscribed between publish and delivery: like a closed socket, it hears nothing.
          if (channels.get(channel)?.has(subscriber) !== true) continue
          try {
            subscriber(new Uint8Array(bytes))
          } catch (error) {
            onSubscriberError(error, channel)
          }
        }
      })
    },
    subscriberCount(channel) {
      return channels.get(channel)?.size ?? 0
    },
    get framesPublished() {
      return framesPublished
    },
  }
}

/** Options of {@link memoryBackplane}. */
export interface MemoryBackplaneOptions {
  /** The hub shared by every backplane that should hear each other. */
  hub: BackplaneHub
  /** Name for stats, events and errors; defaults to `memory`. */
  name?: string | undefined
}

/** A backplane over an in-process {@link BackplaneHub}; it multiplexes any number of caches. */
export function memoryBackplane(options: MemoryBackplaneOptions) {
  const hub = options?.hub
  if (typeof hub !== 'object' || hub === null || typeof hub.publish !== 'function') {
    throw new InvalidOptionsError('memoryBackplane: options.hub must be a hub from createBackplaneHub()')
  }
  const name = options.name ?? 'memory'
  /** The unsubscribe function of every open subscription, for `close()`. */
  const open = new Set<() => void>()
  let closed = false

  const subscribe = (channel: string, listener: BackplaneListener): BackplaneSubscription => {
    let active = true
    const unsubscribe = hub.subscribe(channel, (frame) => {
      if (active) listener.onFrame(frame)
    })
    const release = () => {
      active = false
      unsubscribe()
      open.delete(release)
    }
    open.add(release)
    return {
      ready: Promise.resolve(),
      async publish(frame: Uint8Array): Promise<void> {
        if (closed || !active)
          throw new BackplaneFailedError('memory backplane subscription is closed', { source: name })
        if (!(frame instanceof Uint8Array))
          throw new BackplaneFailedError('frame must be a Uint8Array', { source: name })
        if (frame.byteLength > MEMORY_BACKPLANE_MAX_FRAME_BYTES) {
          throw new BackplaneFailedError(`frame of ${frame.byteLength} bytes is too large`, { source: name })
        }
        hub.publish(channel, frame)
      },
      async close(): Promise<void> {
        release()
      },
    }
  }

  return {
    name,
    capabilities: { replay: false, maxFrameBytes: MEMORY_BACKPLANE_MAX_FRAME_BYTES, multiplex: true },
    connect(channel: string, listener: BackplaneListener): BackplaneSubscription {
      if (closed) throw new BackplaneFailedError('memory backplane is closed', { source: name })
      if (typeof channel !== 'string' || channel.length === 0) {
        throw new InvalidOptionsError('memory backplane: channel must be a non-empty string', {
          source: name,
        })
      }
      return subscribe(channel, listener)
    },
    async close(): Promise<void> {
      closed = true
      for (const release of [...open]) release()
    },
  } satisfies Backplane
}
