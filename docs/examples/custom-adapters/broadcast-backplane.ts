/**
 * A backplane over `BroadcastChannel` from node:worker_threads: managers in the main
 * thread and the worker threads of one process hear each other. Core does the encoding,
 * batching, own-frame filtering and retries; the transport only moves opaque frames.
 * Each cache's subscription gets its own BroadcastChannel, so one backplane object
 * serves every cache (`multiplex: true`).
 */
import { BroadcastChannel } from 'node:worker_threads'
import {
  type Backplane,
  BackplaneFailedError,
  type BackplaneListener,
  type BackplaneSubscription,
} from '@cacheplane/core'

/** Creates a backplane on the process-wide broadcast channels core names (`<prefix><cacheName>`). */
export function broadcastBackplane(name = 'broadcast') {
  const open = new Set<BackplaneSubscription>()
  let closed = false

  const subscribe = (target: string, listener: BackplaneListener): BackplaneSubscription => {
    const channel = new BroadcastChannel(target)
    let active = true
    channel.onmessage = (event) => {
      if (active && event.data instanceof Uint8Array) listener.onFrame(event.data) // anything else is not ours
    }
    const subscription: BackplaneSubscription = {
      // Nothing to wait for: the BroadcastChannel hears every later message at once.
      ready: Promise.resolve(),
      async publish(frame: Uint8Array) {
        if (!active) throw new BackplaneFailedError('subscription closed', { source: name })
        channel.postMessage(frame)
        // BroadcastChannel does not echo to its sender, but the contract delivers to every
        // subscriber, the publisher included (core skips its own frames by sender id).
        const copy = frame.slice()
        setImmediate(() => {
          if (active) listener.onFrame(copy)
        })
      },
      async close() {
        active = false
        channel.close()
        open.delete(subscription)
      },
    }
    open.add(subscription)
    return subscription
  }

  return {
    name,
    // No replay: BroadcastChannel never loses a subscription, so this transport has no
    // gap to report. A transport that reconnects must call listener.onGap after it does.
    capabilities: { replay: false, maxFrameBytes: 1024 * 1024, multiplex: true },
    connect(target: string, listener: BackplaneListener) {
      if (closed) throw new BackplaneFailedError('backplane closed', { source: name })
      return subscribe(target, listener)
    },
    async close() {
      closed = true
      await Promise.all([...open].map((subscription) => subscription.close()))
    },
  } satisfies Backplane
}
