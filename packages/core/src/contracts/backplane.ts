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
   * Longest a dead or silent connection goes unnoticed, ms: the transport reports `suspect` or
   * `disconnected` within this time. Undefined when the transport does not check liveness.
   */
  readonly maxSilenceMs?: number | undefined
}

/**
 * A dumb transport for opaque frames on one channel per cache. Core does the
 * encoding, batching, own-message filtering, retries and recovery.
 */
export interface Backplane {
  /** Name for stats, events and errors. */
  readonly name: string
  /** What the transport can do. */
  readonly capabilities: BackplaneCapabilities
  /**
   * Subscribes to `channel`; resolves once frames published after it will be delivered. Called
   * once. A transport may wait until it can subscribe, or reject and keep trying on its own;
   * then it reports the late subscription with `onState('connected')` followed by `onGap`.
   */
  connect(channel: string, listener: BackplaneListener): Promise<void>
  /** Publishes one frame to the channel; rejects when it was not accepted by the server (core retries). */
  publish(frame: Uint8Array): Promise<void>
  /** Unsubscribes and releases what the backplane opened; never a client it was given. */
  close(): Promise<void>
}
