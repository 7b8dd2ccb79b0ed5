import { Backoff, type BackplaneListener } from '@cacheplane/core'
import { ChannelRouter } from './channel-router.js'
import { PubSubSubscription, type SubscriberFactory } from './pubsub-subscription.js'

/** Backoff between resubscribe attempts, ms: quick after a blip, at most 2 s while the server stays away. */
const RESUBSCRIBE_BACKOFF = { baseDelayMs: 50, maxDelayMs: 2_000 }

/** Where a channel must be subscribed: a key naming the server (`''` when any will do) and how to connect there. */
export interface ChannelLocation {
  /** The server's key (`host:port`), or `''` when any server will do. */
  readonly node: string
  /** Opens a subscriber connection to that server. */
  readonly open: SubscriberFactory
}

/** One subscribed channel: the connection carrying it, and its resubscribe backoff. */
interface ChannelState {
  link: PubSubSubscription | undefined
  ready: Promise<void>
  timer: NodeJS.Timeout | undefined
  readonly backoff: Backoff
}

/**
 * The subscriber connections of one backplane, shared by every cache on it: one connection
 * per server (standalone and plain pub/sub: one in all; sharded pub/sub on a Cluster: one per
 * master owning a subscribed channel's slot), each channel subscribed once however many
 * listeners it has. When a connection drops, every channel it carried is reported
 * `disconnected` (first `suspect` when it was dropped for going silent), then placed again (for sharded pub/sub, on its slot's current owner) with
 * backoff, and once its new subscription is confirmed its listeners hear `connected` and an
 * unrecovered gap. The last channel unsubscribed closes the last connection.
 */
export class SharedSubscriber {
  readonly #locate: (channel: string) => Promise<ChannelLocation>
  readonly #router = new ChannelRouter()
  readonly #links = new Map<string, PubSubSubscription>()
  readonly #channels = new Map<string, ChannelState>()

  readonly #maxSilenceMs: number

  /**
   * `locate` says where each channel must be subscribed; every connection is PINGed so that a
   * silence longer than `maxSilenceMs` is noticed. Nothing is opened before the first `subscribe`.
   */
  constructor(locate: (channel: string) => Promise<ChannelLocation>, maxSilenceMs: number) {
    this.#locate = locate
    this.#maxSilenceMs = maxSilenceMs
  }

  /** Channels subscribed (or being subscribed) now. */
  get size(): number {
    return this.#channels.size
  }

  /** Server connections open now. */
  get connections(): number {
    return this.#links.size
  }

  /** Adds `listener` to `channel`; resolves once the channel's subscription is confirmed. */
  subscribe(channel: string, listener: BackplaneListener): Promise<void> {
    this.#router.add(channel, listener)
    const existing = this.#channels.get(channel)
    if (existing !== undefined) return existing.ready
    const state: ChannelState = {
      link: undefined,
      ready: Promise.resolve(),
      timer: undefined,
      backoff: new Backoff(RESUBSCRIBE_BACKOFF),
    }
    this.#channels.set(channel, state)
    state.ready = this.#first(channel, state)
    // Awaited by the subscription's owner; a rejection nobody awaits must not crash the process.
    state.ready.catch(() => {})
    return state.ready
  }

  /** Removes `listener`; the channel is unsubscribed with its last listener, a connection with its last channel. */
  async unsubscribe(channel: string, listener: BackplaneListener): Promise<void> {
    if (!this.#router.remove(channel, listener)) return
    const state = this.#channels.get(channel)
    if (state === undefined) return
    this.#channels.delete(channel)
    clearTimeout(state.timer)
    if (state.link !== undefined) await this.#release(state.link, channel)
  }

  /** Closes every connection; listeners hear nothing more. */
  async close(): Promise<void> {
    for (const state of this.#channels.values()) clearTimeout(state.timer)
    this.#channels.clear()
    this.#router.clear()
    const links = [...this.#links.values()]
    this.#links.clear()
    await Promise.all(links.map((link) => link.close()))
  }

  async #first(channel: string, state: ChannelState): Promise<void> {
    try {
      if (await this.#place(channel, state)) this.#router.state(channel, 'connected')
    } catch (error) {
      // Keep trying: the late subscription is reported as `connected`, then a gap.
      this.#schedule(channel, state, 'reconnect')
      throw error
    }
  }

  /** Subscribes `channel` on the connection to its server; false when it was unsubscribed meanwhile. */
  async #place(channel: string, state: ChannelState): Promise<boolean> {
    const { node, open } = await this.#locate(channel)
    let link = this.#links.get(node)
    if (link === undefined || link.dead) {
      const created: PubSubSubscription = new PubSubSubscription({
        open,
        onFrame: (from, frame) => this.#router.frame(from, frame),
        onLost: (reason) => this.#lost(node, created, reason),
        maxSilenceMs: this.#maxSilenceMs,
        onSuspect: () => this.#suspect(created),
      })
      this.#links.set(node, created)
      link = created
    }
    try {
      await link.add(channel)
    } catch (error) {
      if (this.#links.get(node) === link && link.dead) this.#links.delete(node)
      throw error
    }
    if (this.#channels.get(channel) !== state) {
      await this.#release(link, channel)
      return false
    }
    state.link = link
    state.backoff.reset()
    return true
  }

  /** Unsubscribes `channel` from `link`, and closes the link when it carries nothing else. */
  async #release(link: PubSubSubscription, channel: string): Promise<void> {
    await link.remove(channel)
    if (link.channels.size > 0) return
    for (const [node, current] of this.#links) if (current === link) this.#links.delete(node)
    await link.close()
  }

  /** A silent connection: every channel it carries is `suspect` until it is dropped (right after). */
  #suspect(link: PubSubSubscription): void {
    for (const [channel, state] of this.#channels)
      if (state.link === link) this.#router.state(channel, 'suspect')
  }

  #lost(node: string, link: PubSubSubscription, reason: string): void {
    if (this.#links.get(node) === link) this.#links.delete(node)
    for (const [channel, state] of this.#channels) {
      if (state.link !== link) continue
      state.link = undefined
      this.#router.state(channel, 'disconnected')
      this.#schedule(channel, state, reason)
    }
  }

  #schedule(channel: string, state: ChannelState, reason: string): void {
    if (this.#channels.get(channel) !== state) return
    clearTimeout(state.timer)
    // A timer, not an awaited wait: unsubscribe() and close() cancel it with the channel.
    state.timer = setTimeout(() => {
      this.#place(channel, state).then(
        (placed) => {
          if (!placed) return
          this.#router.state(channel, 'connected')
          this.#router.gap(channel, {
            reason,
            recovered: false,
            detail: `the subscription to '${channel}' was re-established`,
          })
        },
        () => this.#schedule(channel, state, reason),
      )
    }, state.backoff.next())
    state.timer.unref()
  }
}
