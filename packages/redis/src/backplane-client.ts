import { type RedisOptions, Redis as RedisClient } from 'ioredis'
import { majorVersion, masterForSlot, nodeOptions, slotOwner } from './cluster-topology.js'
import { subscriberTimeout } from './command-deadline.js'
import { keySlot } from './key-slot.js'
import { sendRequest } from './one-buffer-command.js'
import { publishesInOrderWith } from './ordered-writes.js'
import type { Subscriber } from './pubsub-subscription.js'
import {
  closeClient,
  isCluster,
  type RedisClient as AnyRedisClient,
  type RedisConnectionOptions,
  type ResolvedConnection,
  resolveConnection,
} from './redis-connection.js'
import type { ChannelLocation } from './shared-subscriber.js'

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
 * The backplane's command client: it publishes, tells where each channel's subscriber
 * connection must go, and decides sharded or plain pub/sub. A client it opened from
 * connection options is released when the backplane has no subscription left, and opened
 * again by the next one; a client the application gave is never closed.
 */
export class BackplaneClient {
  readonly #options: RedisConnectionOptions
  readonly #sharded: boolean | 'auto'
  #connection: ResolvedConnection | undefined
  #decision: Promise<boolean> | undefined

  /** Opens the connection at once, so that bad options throw from the factory. */
  constructor(options: RedisConnectionOptions, sharded: boolean | 'auto') {
    this.#options = options
    this.#sharded = sharded
    this.#connection = resolveConnection('redisBackplane', options, 'off')
  }

  /** Where `channel` must be subscribed, and how to open a subscriber connection there. */
  async locate(channel: string): Promise<ChannelLocation> {
    const client = this.#client()
    const sharded = await this.#useSharded(client)
    if (!isCluster(client)) {
      const open = async (): Promise<Subscriber> => ({
        connection: client.duplicate({ ...SUBSCRIBER_OPTIONS, ...subscriberTimeout(client) }),
        sharded,
      })
      return { node: '', open }
    }
    // Plain pub/sub works on any node of a cluster (one connection for every channel);
    // sharded pub/sub only on the slot's owner (one connection per owner).
    const owner = await slotOwner(client, keySlot(channel))
    const open = async (): Promise<Subscriber> => ({
      connection: new RedisClient({
        ...nodeOptions(client, owner),
        ...SUBSCRIBER_OPTIONS,
        ...subscriberTimeout(client),
      }),
      sharded,
    })
    return { node: sharded ? `${owner.host}:${owner.port}` : '', open }
  }

  /** Publishes one frame on `channel`; rejects when Redis did not accept it. */
  async publish(channel: string, frame: Uint8Array): Promise<void> {
    const client = this.#client()
    const args = [channel, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)]
    if (!isCluster(client)) await sendRequest(client, this.#sharded === true ? 'spublish' : 'publish', args)
    else if (await this.#useSharded(client)) await sendRequest(client, 'spublish', args)
    else await sendRequest(masterForSlot(client, keySlot(channel)) ?? client, 'publish', args)
  }

  /** A frame published here reaches no subscriber before a write `handle` sent earlier is applied. */
  ordersAfter(handle: object): boolean {
    const connection = this.#connection
    return connection !== undefined && publishesInOrderWith(handle, connection.client)
  }

  /** Closes the client if we opened it (the next call opens a new one); never the application's. */
  async release(): Promise<void> {
    const released = this.#connection
    if (released === undefined || !released.owned) return
    this.#connection = undefined
    this.#decision = undefined
    await closeClient(released.client)
  }

  #client(): AnyRedisClient {
    this.#connection ??= resolveConnection('redisBackplane', this.#options, 'off')
    return this.#connection.client
  }

  /** Sharded or not, decided once Redis answered (retried while it does not). */
  #useSharded(client: AnyRedisClient): Promise<boolean> {
    if (this.#sharded !== 'auto') return Promise.resolve(this.#sharded)
    if (!isCluster(client)) return Promise.resolve(false)
    this.#decision ??= client.info('server').then(
      (info) => majorVersion(info) >= 7,
      (error: unknown) => {
        this.#decision = undefined
        throw error
      },
    )
    return this.#decision
  }
}
