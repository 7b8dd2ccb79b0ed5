import type {
  Backplane,
  BackplaneCapabilities,
  BackplaneListener,
  BackplaneSubscription,
  CacheHandle,
} from '@cacheplane/core'
import { ClosedError, InvalidOptionsError, resolveMaxSilenceMs } from '@cacheplane/core'
import { BackplaneClient } from './backplane-client.js'
import type { RedisConnectionOptions } from './redis-connection.js'
import { SharedSubscriber } from './shared-subscriber.js'

/** Options of {@link redisBackplane}: a connection plus the pub/sub flavour. */
export interface RedisBackplaneOptions extends RedisConnectionOptions {
  /** Backplane name for stats, events and errors; default `'redis'`. */
  name?: string
  /**
   * SPUBLISH/SSUBSCRIBE (sharded pub/sub, Redis 7+) instead of PUBLISH/SUBSCRIBE.
   * `'auto'` (default): sharded on a Cluster whose servers run Redis 7 or newer,
   * where plain PUBLISH would be broadcast to every node of the cluster.
   */
  sharded?: boolean | 'auto'
  /**
   * Longest a dead or silent subscriber connection goes unnoticed, ms (default 1,500): each is
   * PINGed every `maxSilenceMs / 2`; an answer missing for as long again reports `suspect` to
   * every channel it carries and the connection is replaced. One PING per connection (one per
   * master with sharded pub/sub), never traffic to the other instances.
   */
  maxSilenceMs?: number
}

/**
 * 4 MiB: Redis disconnects a subscriber whose output buffer passes `client-output-buffer-limit
 * pubsub` (default 32 MiB hard, 8 MiB for 60 s), so frames stay well below it; key-only
 * invalidation frames are far smaller anyway, and core splits batches to fit.
 */
const MAX_FRAME_BYTES = 4 * 1024 * 1024

/**
 * A Redis pub/sub backplane: frames are published on the channel core names
 * (one per cache) and received on a subscriber connection opened from the client's
 * options. One backplane serves every cache of a process: their channels share one
 * subscriber connection (sharded pub/sub on a Cluster: one per master that owns a
 * subscribed channel's slot). Frames travel as Buffers (binary-safe).
 *
 * Gaps reported (`recovered: false`, Redis pub/sub never replays), to every channel the
 * lost connection carried: the subscriber connection closed or errored and a new
 * subscription was confirmed (`reconnect`), the server unsubscribed us because the
 * channel's slot moved (`resubscribe`), a sharded subscribe hit MOVED after a failover
 * (`failover`), a subscriber connection stayed silent past `maxSilenceMs` and was replaced
 * (`silence`, after `suspect`). The connections it opened close with its last subscription.
 *
 * Given the same standalone client as the cache's `redisHandle`, a
 * `set` is announced as soon as its SET is sent: the PUBLISH follows it on the connection,
 * Redis applies the SET first, and the other instances hear of the change a round trip
 * sooner (`ordered-writes.ts`).
 */
export function redisBackplane(options: RedisBackplaneOptions = {}) {
  const name = options.name ?? 'redis'
  const shardedOption = options.sharded ?? 'auto'
  if (shardedOption !== true && shardedOption !== false && shardedOption !== 'auto') {
    throw new InvalidOptionsError(`redisBackplane: 'sharded' must be true, false or 'auto'`)
  }
  const maxSilenceMs = resolveMaxSilenceMs(options.maxSilenceMs, 'redisBackplane')
  const capabilities: BackplaneCapabilities = {
    replay: false,
    maxFrameBytes: MAX_FRAME_BYTES,
    multiplex: true,
    maxSilenceMs,
  }
  const client = new BackplaneClient(options, shardedOption)
  const subscriber = new SharedSubscriber((channel) => client.locate(channel), maxSilenceMs)
  let closed = false
  let open = 0

  return {
    name,
    capabilities,

    connect(channel: string, listener: BackplaneListener): BackplaneSubscription {
      if (closed) throw new ClosedError(`redisBackplane '${name}' is closed`)
      if (typeof channel !== 'string' || channel === '')
        throw new InvalidOptionsError(`redisBackplane '${name}': the channel must be a non-empty string`)
      open++
      let active = true
      return {
        ready: subscriber.subscribe(channel, listener),
        async publish(frame: Uint8Array): Promise<void> {
          if (closed || !active) throw new ClosedError(`redisBackplane '${name}': the subscription is closed`)
          await client.publish(channel, frame)
        },
        async close(): Promise<void> {
          if (!active) return
          active = false
          open--
          await subscriber.unsubscribe(channel, listener)
          // The last subscription gone: release the client we opened (a later connect reopens it).
          if (!closed && open === 0) await client.release()
        },
      }
    },

    ordersAfter(handle: CacheHandle<unknown>): boolean {
      return client.ordersAfter(handle)
    },

    async close(): Promise<void> {
      if (closed) return
      closed = true
      open = 0
      await subscriber.close()
      await client.release()
    },
  } satisfies Backplane
}
