import type { CacheHandle } from './cache-handle.js'

/**
 * Connection state of a backplane, as reported to core. `suspect`: the connection looks open
 * but the server did not answer a liveness round trip in time (a silent partition); core
 * treats it like `disconnected`. A transport that leaves `suspect` or `disconnected` reports
 * `connected` and then a gap.
 */
export type BackplaneState = 'connected' | 'suspect' | 'disconnected'

/**
 * "Messages may have been missed." `recovered: true` means the backplane has
 * already redelivered everything it missed through `onFrame` (a replaying
 * transport such as NATS JetStream), so core keeps its local handles; with
 * `recovered: false` core applies its gap policy (by default: clear local handles).
 */
export interface BackplaneGap {
  /** Short machine-readable cause: `reconnect`, `resubscribe`, `failover`, `replay-failed`, `retention-exceeded`, ... */
  readonly reason: string
  /** True when every missed frame was redelivered through `onFrame` before this call. */
  readonly recovered: boolean
  /** Human-readable detail for events and logs. */
  readonly detail?: string
}

/** What core hands a backplane when it connects. */
export interface BackplaneListener {
  /** A frame arrived on the channel (including our own: core filters those). Must not throw. */
  onFrame(frame: Uint8Array): void
  /** Frames may have been missed; see {@link BackplaneGap}. */
  onGap(gap: BackplaneGap): void
  /** The connection changed state. */
  onState(state: BackplaneState): void
}

/** What a backplane can do, declared as data. */
export interface BackplaneCapabilities {
  /** Replays missed frames after a gap (reports `recovered: true` when it managed to). */
  readonly replay: boolean
  /** Largest frame the transport carries, bytes; core never publishes a larger one. */
  readonly maxFrameBytes: number
  /**
   * Serves any number of channels (caches) at once over one connection, routing each frame to
   * its channel's listeners. Without it core refuses a second cache on the same backplane
   * object (`InvalidOptionsError`) rather than let it hear nothing.
   */
  readonly multiplex: boolean
  /**
   * Longest a dead or silent connection goes unnoticed, ms: the transport reports `suspect` or
   * `disconnected` within this time. Undefined when the transport does not check liveness.
   */
  readonly maxSilenceMs?: number | undefined
}

/** One channel's subscription, returned by {@link Backplane.connect}; each cache holds its own. */
export interface BackplaneSubscription {
  /**
   * Resolves once frames published on the channel after it will be delivered. When it rejects
   * the transport may keep trying on its own; it then reports the late subscription with
   * `onState('connected')` followed by `onGap`.
   */
  readonly ready: Promise<void>
  /** Publishes one frame on this channel; rejects when the server did not accept it (core retries). */
  publish(frame: Uint8Array): Promise<void>
  /**
   * Unsubscribes this listener only: other subscriptions on the backplane keep receiving. The
   * connection the backplane opened closes with its last subscription (never a client it was
   * given). Idempotent; nothing reaches the listener once it was called.
   */
  close(): Promise<void>
}

/**
 * A dumb transport for opaque frames on one channel per cache. Core does the encoding,
 * batching, own-message filtering, retries and recovery. One backplane object may serve
 * every cache of a process when it declares `multiplex`.
 */
export interface Backplane {
  /** Name for stats, events and errors. */
  readonly name: string
  /** What the transport can do. */
  readonly capabilities: BackplaneCapabilities
  /**
   * Subscribes `listener` to `channel` and returns at once; `ready` says when the subscription
   * is live. Called once per cache. With `multiplex`, any number of channels share the
   * backplane's connection, and a channel may have several listeners (each gets every frame);
   * without it, core calls it at most once. Throws for a bad channel or a closed backplane.
   */
  connect(channel: string, listener: BackplaneListener): BackplaneSubscription
  /**
   * Whether a frame published after `handle` was asked for a write reaches no subscriber
   * before the store has applied that write: the write and the publish travel in order over
   * one connection to one server (the Redis handle and backplane given the same standalone
   * client). "Asked" means the handle's method was called and returned before `publish`
   * was called; a handle that answers true here must send the write before it returns.
   *
   * When it is true for the bottom handle, core announces a `set` or a `remove` as soon as
   * its bottom write is sent, not after the reply: the other instances hear of the change one
   * round trip sooner, and one that reads the store on hearing it finds the new value. A write
   * that then fails has still been announced; its receivers drop their copy and read the store
   * again, which costs them a read and never serves a wrong value (messages carry no values).
   * Optional; absent or false: core announces after the write's reply.
   */
  ordersAfter?(handle: CacheHandle<unknown>): boolean
  /** Closes every subscription and releases what the backplane opened; never a client it was given. Idempotent. */
  close(): Promise<void>
}
