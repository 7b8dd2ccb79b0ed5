import type { BackplaneListener } from '@cacheplane/core'
import type { FrameTransport } from './frame-transport.js'
import type { NatsConnectionLike } from './nats-connection.js'

/**
 * Plain core NATS: at-most-once delivery to whoever is subscribed right now.
 * Anything published while this client was away is gone, so every reconnect is an
 * unrecovered gap and core applies its gap policy.
 */
export async function startCoreTransport(
  connection: NatsConnectionLike,
  subject: string,
  listener: BackplaneListener,
): Promise<FrameTransport> {
  const subscription = connection.subscribe(subject, {
    callback: (err, msg) => {
      if (err !== null) {
        // The server refused the subscription (permissions): nothing more will arrive.
        listener.onGap({ reason: 'subscription-failed', recovered: false, detail: err.message })
        return
      }
      listener.onFrame(msg.data)
    },
  })
  // The SUB is on the wire once the server answered the PING behind it: frames
  // published from now on are delivered, which is what `connect()` promises.
  await connection.flush()

  return {
    async publish(frame) {
      connection.publish(subject, frame)
      // `publish` only queues; the PONG to this flush means the server has read the frame.
      await connection.flush()
    },
    reconnected(reason, detail) {
      listener.onGap({ reason, recovered: false, detail })
    },
    async stop() {
      subscription.unsubscribe()
    },
  }
}
