import type { Backplane, BackplaneCapabilities, BackplaneListener } from '@cacheplane/core'
import { ClosedError, InvalidOptionsError, resolveMaxSilenceMs } from '@cacheplane/core'
import type { RedisOptions } from 'ioredis'
import { Redis as RedisClient } from 'ioredis'
import { majorVersion, masterForSlot, nodeOptions, slotOwner } from './cluster-topology.js'
import { keySlot } from './key-slot.js'
import { PubSubSubscription, type Subscriber } from './pubsub-subscription.js'
import { closeClient, isCluster, type RedisConnectionOptions, resolveConnection } from './redis-connection.js'

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
   * Longest a dead or silent subscriber connection goes unnoticed, ms (default 1,500): it is
   * PINGed every `maxSilenceMs / 2`; an answer missing for as long again reports `suspect` and
   * the connection is replaced. One PING per instance, never traffic to the other instances.
   */
  maxSilenceMs?: number
}

/**
 * 4 MiB: Redis disconnects a subscriber whose output buffer passes `client-output-buffer-limit
 * pubsub` (default 32 MiB hard, 8 MiB for 60 s), so frames stay well below it; key-only
 * invalidation frames are far smaller anyway, and core splits batches to fit.
 */
const MAX_FRAME_BYTES = 4 * 1024 * 1024

/** Our subscriber connections: no reconnect or resubscribe by ioredis (we do it, to know about gaps). */
const SUBSCRIBER_OPTIONS: RedisOptions = {
  lazyConnect: true,
  autoResubscribe: false,
  retryStrategy: () => null,
  enableAutoPipelining: false,
  enableOfflineQueue: true,
  maxRetriesPerRequest: null,
}

/**
 * A Redis pub/sub backplane: frames are published on the channel core names
 * (one per cache) and received on a dedicated subscriber connection opened from
 * the client's options. Frames travel as Buffers (binary-safe).
 *
 * Gaps reported (`recovered: false`, Redis pub/sub never replays): the subscriber
 * connection closed or errored and a new subscription was confirmed (`reconnect`),
 * the server unsubscribed us because the channel's slot moved (`resubscribe`), a
 * sharded subscribe hit MOVED after a failover (`failover`).
 */
export function redisBackplane(options: RedisBackplaneOptions = {}) {
  const name = options.name ?? 'redis'
  const shardedOption = options.sharded ?? 'auto'
  if (shardedOption !== true && shardedOption !== false && shardedOption !== 'auto') {
    throw new InvalidOptionsError(`redisBackplane: 'sharded' must be true, false or 'auto'`)
  }
  const maxSilenceMs = resolveMaxSilenceMs(options.maxSilenceMs, 'redisBackplane')
  const capabilities: BackplaneCapabilities = { replay: false, maxFrameBytes: MAX_FRAME_BYTES, maxSilenceMs }
  const { client, owned } = resolveConnection('redisBackplane', options)
  let channel: string | undefined
  let subscription: PubSubSubscription | undefined
  let closed = false
  let decision: Promise<boolean> | undefined

  /** Sharded or not, decided once Redis answered (retried while it does not). */
  function useSharded(): Promise<boolean> {
    if (shardedOption !== 'auto') return Promise.resolve(shardedOption)
    if (!isCluster(client)) return Promise.resolve(false)
    decision ??= client.info('server').then(
      (info) => majorVersion(info) >= 7,
      (error: unknown) => {
        decision = undefined
        throw error
      },
    )
    return decision
  }

  async function openSubscriber(target: string): Promise<Subscriber> {
    const sharded = await useSharded()
    if (!isCluster(client)) return { connection: client.duplicate(SUBSCRIBER_OPTIONS), sharded }
    // Plain pub/sub works on any node of a cluster; sharded pub/sub only on the slot's owner.
    const owner = await slotOwner(client, keySlot(target))
    return { connection: new RedisClient({ ...nodeOptions(client, owner), ...SUBSCRIBER_OPTIONS }), sharded }
  }

  return {
    name,
    capabilities,

    async connect(target: string, listener: BackplaneListener): Promise<void> {
      if (closed) throw new ClosedError(`redisBackplane '${name}' is closed`)
      if (channel !== undefined)
        throw new InvalidOptionsError(`redisBackplane '${name}' is already connected`)
      channel = target
      subscription = new PubSubSubscription({
        channel: target,
        listener,
        maxSilenceMs,
        open: () => openSubscriber(target),
      })
      await subscription.start()
    },

    async publish(frame: Uint8Array): Promise<void> {
      if (channel === undefined)
        throw new InvalidOptionsError(`redisBackplane '${name}': publish before connect`)
      if (closed) throw new ClosedError(`redisBackplane '${name}' is closed`)
      const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
      if (await useSharded()) await client.spublish(channel, bytes)
      else if (isCluster(client))
        await (masterForSlot(client, keySlot(channel)) ?? client).publish(channel, bytes)
      else await client.publish(channel, bytes)
    },

    async close(): Promise<void> {
      closed = true
      await subscription?.close()
      if (owned) await closeClient(client)
    },
  } satisfies Backplane
}
