import type {
  Backplane,
  BackplaneCapabilities,
  BackplaneListener,
  BackplaneSubscription,
} from '@cacheplane/core'
import { ClosedError, InvalidOptionsError } from '@cacheplane/core'
import type { RedisOptions } from 'ioredis'
import { Redis as RedisClient } from 'ioredis'
import { majorVersion, masterForSlot, nodeOptions, slotOwner } from './cluster-topology.js'
import { keySlot } from './key-slot.js'
import type { Subscriber } from './pubsub-subscription.js'
import {
  closeClient,
  isCluster,
  type RedisClient as AnyRedisClient,
  type RedisConnectionOptions,
  type ResolvedConnection,
  resolveConnection,
} from './redis-connection.js'
import { type ChannelLocation, SharedSubscriber } from './shared-subscriber.js'

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
}

/**
 * 4 MiB: Redis disconnects a subscriber whose output buffer passes `client-output-buffer-limit
 * pubsub` (default 32 MiB hard, 8 MiB for 60 s), so frames stay well below it; key-only
 * invalidation frames are far smaller anyway, and core splits batches to fit.
 */
const CAPABILITIES: BackplaneCapabilities = { replay: false, maxFrameBytes: 4 * 1024 * 1024, multiplex: true }

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
 * (one per cache) and received on a subscriber connection opened from the client's
 * options. One backplane serves every cache of a process: their channels share one
 * subscriber connection (sharded pub/sub on a Cluster: one per master that owns a
 * subscribed channel's slot). Frames travel as Buffers (binary-safe).
 *
 * Gaps reported (`recovered: false`, Redis pub/sub never replays), to every channel the
 * lost connection carried: the subscriber connection closed or errored and a new
 * subscription was confirmed (`reconnect`), the server unsubscribed us because the
 * channel's slot moved (`resubscribe`), a sharded subscribe hit MOVED after a failover
 * (`failover`). The connections it opened close with its last subscription.
 */
export function redisBackplane(options: RedisBackplaneOptions = {}) {
  const name = options.name ?? 'redis'
  const shardedOption = options.sharded ?? 'auto'
  if (shardedOption !== true && shardedOption !== false && shardedOption !== 'auto') {
    throw new InvalidOptionsError(`redisBackplane: 'sharded' must be true, false or 'auto'`)
  }
  // Opened now so that bad options throw here; reopened after the last subscription closed it.
  let connection: ResolvedConnection | undefined = resolveConnection('redisBackplane', options)
  let decision: Promise<boolean> | undefined
  let closed = false
  let open = 0

  const current = (): AnyRedisClient => {
    connection ??= resolveConnection('redisBackplane', options)
    return connection.client
  }

  /** Sharded or not, decided once Redis answered (retried while it does not). */
  function useSharded(client: AnyRedisClient): Promise<boolean> {
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

  async function locate(channel: string): Promise<ChannelLocation> {
    const client = current()
    const sharded = await useSharded(client)
    if (!isCluster(client)) {
      return {
        node: '',
        open: async (): Promise<Subscriber> => ({
          connection: client.duplicate(SUBSCRIBER_OPTIONS),
          sharded,
        }),
      }
    }
    // Plain pub/sub works on any node of a cluster (one connection for every channel);
    // sharded pub/sub only on the slot's owner (one connection per owner).
    const owner = await slotOwner(client, keySlot(channel))
    const open = async (): Promise<Subscriber> => ({
      connection: new RedisClient({ ...nodeOptions(client, owner), ...SUBSCRIBER_OPTIONS }),
      sharded,
    })
    return { node: sharded ? `${owner.host}:${owner.port}` : '', open }
  }

  const subscriber = new SharedSubscriber(locate)

  async function publish(channel: string, frame: Uint8Array): Promise<void> {
    const client = current()
    const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
    if (await useSharded(client)) await client.spublish(channel, bytes)
    else if (isCluster(client))
      await (masterForSlot(client, keySlot(channel)) ?? client).publish(channel, bytes)
    else await client.publish(channel, bytes)
  }

  /** The last subscription is gone: release the client we opened (a later connect reopens it). */
  async function idle(): Promise<void> {
    const released = connection
    if (open > 0 || released === undefined || !released.owned) return
    connection = undefined
    decision = undefined
    await closeClient(released.client)
  }

  return {
    name,
    capabilities: CAPABILITIES,

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
          await publish(channel, frame)
        },
        async close(): Promise<void> {
          if (!active) return
          active = false
          open--
          await subscriber.unsubscribe(channel, listener)
          if (!closed) await idle()
        },
      }
    },

    async close(): Promise<void> {
      if (closed) return
      closed = true
      open = 0
      await subscriber.close()
      if (connection?.owned === true) await closeClient(connection.client)
      connection = undefined
    },
  } satisfies Backplane
}
