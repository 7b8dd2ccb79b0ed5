/**
 * One cache's channel on a backplane's shared NATS connection: its own core NATS
 * subscription or JetStream consumer (the transport), started when the channel is
 * connected and stopped when it is closed. The connection's state changes and reconnects
 * reach the transport through the {@link ConnectionUser} this registers; a reconnect seen
 * while the transport is still starting is handed to it once it runs, so no gap is lost.
 */
import {
  BackplaneFailedError,
  type BackplaneListener,
  type BackplaneSubscription,
  ClosedError,
} from '@cacheplane/core'
import { startCoreTransport } from './core-transport.js'
import type { FrameTransport } from './frame-transport.js'
import type { NatsConnectionLike } from './nats-connection.js'
import type { ReplaySettings } from './nats-options.js'
import { startReplayTransport } from './replay-transport.js'
import type { ConnectionUser, SharedConnection } from './shared-connection.js'

/** A reconnect the transport has not heard about yet. */
interface MissedReconnect {
  readonly reason: 'reconnect' | 'failover' | 'silence'
  readonly detail: string
}

/** What a channel needs to know to subscribe. */
export interface ChannelSubscriptionOptions {
  /** Backplane name, the source of errors. */
  readonly name: string
  /** The backplane's connection. */
  readonly shared: SharedConnection
  /** The channel's NATS subject. */
  readonly subject: string
  /** Replay settings, or undefined for plain core NATS. */
  readonly replay: ReplaySettings | undefined
  /** Receives frames, gaps and state changes. */
  readonly listener: BackplaneListener
  /** Called once when the subscription is closed. */
  readonly onClose: () => void
}

/** A subscribed channel; `ready` settles once its transport runs. */
export class ChannelSubscription implements BackplaneSubscription {
  /** Resolves once frames published from now on are delivered; rejects when the transport cannot start. */
  readonly ready: Promise<void>
  readonly #options: ChannelSubscriptionOptions
  readonly #user: ConnectionUser
  #transport: FrameTransport | undefined
  #active = true
  #missedReconnect: MissedReconnect | undefined

  /** Starts subscribing at once; the caller awaits `ready`. */
  constructor(options: ChannelSubscriptionOptions) {
    this.#options = options
    this.#user = {
      onState: (state) => {
        if (this.#active) options.listener.onState(state)
      },
      reconnected: (reason, detail) => {
        if (!this.#active) return
        if (this.#transport === undefined) this.#missedReconnect = { reason, detail }
        else this.#transport.reconnected(reason, detail)
      },
    }
    this.ready = this.#start()
    // Awaited by the subscription's owner; a rejection nobody awaits must not crash the process.
    this.ready.catch(() => {})
  }

  /** Publishes one frame; refuses while not connected so that core retries it. */
  async publish(frame: Uint8Array): Promise<void> {
    const { name, shared } = this.#options
    if (!this.#active) throw this.#closedError()
    if (this.#transport === undefined)
      throw new BackplaneFailedError(`natsBackplane '${name}': publish() before the subscription was ready`, {
        source: name,
      })
    // The client would buffer the frame until it reconnects, and the caller could not tell whether it
    // ever reached the server; refusing now lets core retry (and, meanwhile, its gap policy applies).
    // A silent (suspect) connection would swallow the frame just the same.
    if (!shared.connected || shared.suspect)
      throw new BackplaneFailedError(
        `natsBackplane '${name}': not connected to a NATS server; frame not sent`,
        {
          source: name,
        },
      )
    await this.#transport.publish(frame)
  }

  /** Stops the transport and leaves the shared connection (closed with its last user when we opened it). */
  async close(): Promise<void> {
    if (!this.#active) return
    this.#active = false
    this.#options.onClose()
    await this.#transport?.stop()
    await this.#options.shared.detach(this.#user)
  }

  async #start(): Promise<void> {
    const { shared } = this.#options
    const connection = await shared.attach(this.#user)
    let started: FrameTransport
    try {
      if (!this.#active) throw this.#closedError()
      started = await this.#startTransport(connection)
    } catch (err) {
      await shared.detach(this.#user)
      throw err
    }
    if (!this.#active) {
      // close() ran while we were subscribing and found nothing to release: release it here.
      await started.stop()
      throw this.#closedError()
    }
    this.#transport = started
    const missed = this.#missedReconnect
    if (missed !== undefined) started.reconnected(missed.reason, missed.detail)
  }

  #startTransport(connection: NatsConnectionLike): Promise<FrameTransport> {
    const { shared, subject, replay, listener } = this.#options
    if (replay === undefined) return startCoreTransport(connection, subject, listener)
    return startReplayTransport(connection, subject, replay, listener, () => shared.connected)
  }

  #closedError(): Error {
    const { name } = this.#options
    return new ClosedError(`natsBackplane '${name}': the subscription is closed`, { source: name })
  }
}
