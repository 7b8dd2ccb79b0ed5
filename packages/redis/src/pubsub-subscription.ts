import type { BackplaneListener } from '@cacheplane/core'
import type { Redis } from 'ioredis'
import { probeSubscriber, type SubscriberProbe } from './liveness-probe.js'

/** Backoff between resubscribe attempts, ms. */
const MIN_DELAY_MS = 50
const MAX_DELAY_MS = 2000
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
  /** The channel. */
  readonly channel: string
  /** Opens a subscriber connection to the right server; `sharded` selects SSUBSCRIBE over SUBSCRIBE. */
  readonly open: SubscriberFactory
  /** Where frames, gaps and states go. */
  readonly listener: BackplaneListener
  /** A subscription whose PING goes unanswered this long is reported `suspect` and replaced, ms. */
  readonly maxSilenceMs: number
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} got no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/**
 * One subscription kept alive by hand rather than by ioredis' reconnect and
 * auto-resubscribe, so we know exactly when frames may have been lost:
 * any close, error, MOVED or server-sent SUNSUBSCRIBE (a slot migrated or failed
 * over) drops the connection; a new one is opened (for sharded pub/sub, to the
 * slot's current owner) with backoff, and once its (S)SUBSCRIBE is confirmed,
 * `onGap({ recovered: false })` is reported — after the subscription is live, so
 * nothing published after core's recovery can be missed.
 */
export class PubSubSubscription {
  readonly #options: PubSubSubscriptionOptions
  #current: Redis | undefined
  #closed = false
  #timer: NodeJS.Timeout | undefined
  #delay = MIN_DELAY_MS
  #probe: SubscriberProbe | undefined

  constructor(options: PubSubSubscriptionOptions) {
    this.#options = options
  }

  /** True while a subscription is confirmed and its connection is up. */
  get connected(): boolean {
    return this.#current !== undefined
  }

  /** The first subscription; rejects when it fails (and keeps retrying in the background). */
  async start(): Promise<void> {
    try {
      await this.#subscribe()
    } catch (error) {
      this.#schedule('reconnect')
      throw error
    }
  }

  /** Stops resubscribing and closes the subscriber connection. */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#probe?.stop()
    const current = this.#current
    this.#current = undefined
    if (current === undefined) return
    try {
      await timeout(current.quit(), 1000, 'QUIT')
    } catch {
      current.disconnect()
    }
  }

  async #subscribe(): Promise<void> {
    const { channel, listener } = this.#options
    const { connection, sharded } = await this.#options.open()
    let lost = false
    const drop = (reason: string) => {
      if (lost) return
      lost = true
      if (this.#current === connection) this.#probe?.stop()
      // Closing on purpose (QUIT sent): a disconnect() now would arm ioredis' socket-destroy
      // timer and keep the process alive for another 2 s after close().
      if (this.#closed) return
      connection.disconnect()
      if (this.#current !== connection) return
      this.#current = undefined
      listener.onState('disconnected')
      this.#schedule(reason)
    }
    connection.on('messageBuffer', (from: Buffer, frame: Buffer) => {
      if (!sharded && from.toString() === channel) listener.onFrame(new Uint8Array(frame))
    })
    connection.on('smessageBuffer', (from: Buffer, frame: Buffer) => {
      if (sharded && from.toString() === channel) listener.onFrame(new Uint8Array(frame))
    })
    // ioredis reports a server-sent SUNSUBSCRIBE (slot moved) as a "Command queue state error".
    connection.on('error', (error: Error) =>
      drop(/sunsubscribe|unsubscribe/i.test(error.message) ? 'resubscribe' : 'reconnect'),
    )
    connection.on('moved', () => drop('failover'))
    connection.on('close', () => drop('reconnect'))
    connection.on('end', () => drop('reconnect'))
    try {
      await timeout(connection.connect(), SUBSCRIBE_TIMEOUT_MS, 'connect')
      const confirm = sharded ? connection.ssubscribe(channel) : connection.subscribe(channel)
      await timeout(confirm, SUBSCRIBE_TIMEOUT_MS, sharded ? 'SSUBSCRIBE' : 'SUBSCRIBE')
    } catch (error) {
      lost = true
      connection.disconnect()
      throw error
    }
    if (lost || this.#closed) {
      connection.disconnect()
      if (lost) throw new Error('the subscriber connection closed while subscribing')
      return
    }
    this.#current = connection
    this.#delay = MIN_DELAY_MS
    listener.onState('connected')
    this.#probe = this.#watch(connection, drop)
  }

  /** PINGs the live subscriber; a silent one (a partition) is reported `suspect`, then replaced like a lost one. */
  #watch(connection: Redis, drop: (reason: string) => void): SubscriberProbe {
    return probeSubscriber(connection, this.#options.maxSilenceMs, () => {
      if (this.#current === connection) this.#options.listener.onState('suspect')
      drop('silence')
    })
  }

  #schedule(reason: string): void {
    if (this.#closed) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#subscribe().then(
        () => {
          if (this.#current !== undefined) {
            this.#options.listener.onGap({
              reason,
              recovered: false,
              detail: `the subscription to '${this.#options.channel}' was re-established`,
            })
          }
        },
        () => {
          this.#delay = Math.min(this.#delay * 2, MAX_DELAY_MS)
          this.#schedule(reason)
        },
      )
    }, this.#delay)
    this.#timer.unref()
  }
}
