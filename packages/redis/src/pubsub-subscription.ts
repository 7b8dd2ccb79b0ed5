import type { Redis } from 'ioredis'
import { probeSubscriber, type SubscriberProbe } from './liveness-probe.js'

/** A (S)SUBSCRIBE that got no answer in this time counts as failed (a MOVED reply leaves ioredis waiting). */
const SUBSCRIBE_TIMEOUT_MS = 5000

/** A fresh subscriber connection (not yet connected, reconnection off) and whether to use sharded pub/sub on it. */
export interface Subscriber {
  readonly connection: Redis
  readonly sharded: boolean
}

/** How to open a subscriber (for sharded pub/sub: to the slot's current master). */
export type SubscriberFactory = () => Promise<Subscriber>

/** Options of a {@link PubSubSubscription}. */
export interface PubSubSubscriptionOptions {
  /** Opens the subscriber connection to the right server; `sharded` selects SSUBSCRIBE over SUBSCRIBE. */
  readonly open: SubscriberFactory
  /** A frame arrived on one of the connection's channels. */
  readonly onFrame: (channel: string, frame: Uint8Array) => void
  /** The connection is gone (called once); its channels must be subscribed again elsewhere. */
  readonly onLost: (reason: string) => void
  /** A connection whose PING goes unanswered this long is reported through `onSuspect` and dropped, ms. */
  readonly maxSilenceMs: number
  /** The connection went silent (called once, just before `onLost` with reason `'silence'`). */
  readonly onSuspect: (detail: string) => void
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} got no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/**
 * One subscriber connection carrying the subscriptions of any number of channels, kept by
 * hand rather than by ioredis' reconnect and auto-resubscribe, so we know exactly when
 * frames may have been lost: any close, error, MOVED, server-sent SUNSUBSCRIBE (a slot
 * migrated or failed over) or unanswered PING (a silent partition) drops the connection and reports it once through `onLost`. It
 * never reconnects itself: the owner ({@link SharedSubscriber}) opens a new connection (for
 * sharded pub/sub, to each slot's current owner), subscribes the channels again and reports
 * the gaps — after the subscriptions are live, so nothing published after core's recovery
 * can be missed.
 */
export class PubSubSubscription {
  readonly #options: PubSubSubscriptionOptions
  readonly #channels = new Set<string>()
  #connection: Redis | undefined
  #sharded = false
  #started: Promise<void> | undefined
  #lost = false
  #closed = false
  #probe: SubscriberProbe | undefined

  /** Nothing is opened before `start()`. */
  constructor(options: PubSubSubscriptionOptions) {
    this.#options = options
  }

  /** The channels subscribed (or being subscribed) on this connection. */
  get channels(): ReadonlySet<string> {
    return this.#channels
  }

  /** True once the connection dropped or was closed: it takes no more channels. */
  get dead(): boolean {
    return this.#lost || this.#closed
  }

  /** Opens the connection (once; later calls share the first attempt). */
  start(): Promise<void> {
    this.#started ??= this.#open()
    return this.#started
  }

  /** Subscribes `channel` on this connection; rejects when the server did not confirm it. */
  async add(channel: string): Promise<void> {
    await this.start()
    const connection = this.#connection
    if (connection === undefined || this.dead) throw new Error('the subscriber connection is gone')
    this.#channels.add(channel)
    try {
      const confirm = this.#sharded ? connection.ssubscribe(channel) : connection.subscribe(channel)
      await timeout(confirm, SUBSCRIBE_TIMEOUT_MS, this.#sharded ? 'SSUBSCRIBE' : 'SUBSCRIBE')
    } catch (error) {
      this.#channels.delete(channel)
      // An unanswered subscribe leaves the connection in an unknown state: give it up.
      this.#drop('reconnect')
      throw error
    }
    if (this.dead) throw new Error('the subscriber connection closed while subscribing')
  }

  /** Unsubscribes `channel` (best effort: a failure drops the connection, which unsubscribes too). */
  async remove(channel: string): Promise<void> {
    if (!this.#channels.delete(channel)) return
    const connection = this.#connection
    if (connection === undefined || this.dead) return
    try {
      const done = this.#sharded ? connection.sunsubscribe(channel) : connection.unsubscribe(channel)
      await timeout(done, SUBSCRIBE_TIMEOUT_MS, this.#sharded ? 'SUNSUBSCRIBE' : 'UNSUBSCRIBE')
    } catch {
      this.#drop('reconnect')
    }
  }

  /** Closes the connection; `onLost` is not called. */
  async close(): Promise<void> {
    this.#closed = true
    this.#probe?.stop()
    this.#channels.clear()
    const current = this.#connection
    this.#connection = undefined
    if (current === undefined) return
    try {
      await timeout(current.quit(), 1000, 'QUIT')
    } catch {
      current.disconnect()
    }
  }

  async #open(): Promise<void> {
    const { connection, sharded } = await this.#options.open()
    this.#sharded = sharded
    connection.on('messageBuffer', (from: Buffer, frame: Buffer) => {
      if (!sharded) this.#options.onFrame(from.toString(), new Uint8Array(frame))
    })
    connection.on('smessageBuffer', (from: Buffer, frame: Buffer) => {
      if (sharded) this.#options.onFrame(from.toString(), new Uint8Array(frame))
    })
    // ioredis reports a server-sent SUNSUBSCRIBE (slot moved) as a "Command queue state error".
    connection.on('error', (error: Error) =>
      this.#drop(/sunsubscribe|unsubscribe/i.test(error.message) ? 'resubscribe' : 'reconnect'),
    )
    connection.on('moved', () => this.#drop('failover'))
    connection.on('close', () => this.#drop('reconnect'))
    connection.on('end', () => this.#drop('reconnect'))
    this.#connection = connection
    try {
      await timeout(connection.connect(), SUBSCRIBE_TIMEOUT_MS, 'connect')
    } catch (error) {
      this.#drop('reconnect')
      throw error
    }
    if (this.#closed) connection.disconnect()
    if (this.dead) throw new Error('the subscriber connection closed while connecting')
    this.#probe = this.#watch(connection)
  }

  /**
   * PINGs the connection (valid in subscriber mode) for as long as it lives: a silent one (a
   * partition that leaves the socket open) is reported `suspect`, then dropped like a lost one,
   * so every channel it carries is subscribed again and hears a gap with reason `'silence'`.
   */
  #watch(connection: Redis): SubscriberProbe {
    return probeSubscriber(connection, this.#options.maxSilenceMs, (detail) => {
      if (this.#connection !== connection || this.dead) return
      this.#options.onSuspect(detail)
      this.#drop('silence')
    })
  }

  #drop(reason: string): void {
    if (this.#lost || this.#closed) return
    this.#lost = true
    this.#probe?.stop()
    // Closing on purpose (QUIT sent) never gets here: a disconnect() then would arm ioredis'
    // socket-destroy timer and keep the process alive for another 2 s after close().
    this.#connection?.disconnect()
    this.#connection = undefined
    this.#options.onLost(reason)
  }
}
