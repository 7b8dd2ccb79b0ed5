/**
 * A backplane over `BroadcastChannel` from node:worker_threads: managers in the main
 * thread and the worker threads of one process hear each other. Core does the encoding,
 * batching, own-frame filtering and retries; the transport only moves opaque frames.
 */
import { BroadcastChannel } from 'node:worker_threads'
import { type Backplane, BackplaneFailedError, type BackplaneListener } from '@cacheplane/core'

/** Creates a backplane on the process-wide broadcast channel core names (`<prefix><cacheName>`). */
export function broadcastBackplane(name = 'broadcast') {
  let channel: BroadcastChannel | undefined
  let listener: BackplaneListener | undefined
  let closed = false

  return {
    name,
    // No replay: BroadcastChannel never loses a subscription, so this transport has no
    // gap to report. A transport that reconnects must call listener.onGap after it does.
    capabilities: { replay: false, maxFrameBytes: 1024 * 1024 },
    async connect(target: string, onEvents: BackplaneListener) {
      if (closed || channel !== undefined)
        throw new BackplaneFailedError('connect() is called once', { source: name })
      listener = onEvents
      channel = new BroadcastChannel(target)
      channel.onmessage = (event) => {
        if (event.data instanceof Uint8Array) onEvents.onFrame(event.data) // anything else is not ours
      }
    },
    async publish(frame: Uint8Array) {
      if (closed || channel === undefined) throw new BackplaneFailedError('not connected', { source: name })
      channel.postMessage(frame)
      // BroadcastChannel does not echo to its sender, but the contract delivers to every
      // subscriber, the publisher included (core skips its own frames by sender id).
      const copy = frame.slice()
      setImmediate(() => {
        if (!closed) listener?.onFrame(copy)
      })
    },
    async close() {
      closed = true
      channel?.close()
      channel = undefined
    },
  } satisfies Backplane
}
