/**
 * Whether the local (in-process) layers may be trusted: only while the backplane is live.
 *
 * A local copy is only as fresh as the invalidations that can reach it. From the moment the
 * transport reports `disconnected` or `suspect` (a silent connection), no invalidation can,
 * so with `backplaneDown: 'bypass'` (the default) the manager stops using its local layers:
 * - at detection, every fence ticket is invalidated (a read that started while live does not
 *   copy up) and, for a transport that cannot replay, the gap policy runs at once
 *   (`reason: 'silence'` or `'disconnected'`), so nothing stale outlives the outage;
 * - while bypassing, reads start at the first distributed layer and copy nothing up, `peek`
 *   and the memory-hit path of `get` miss, and `set` evicts the key from local layers instead
 *   of writing them; writes still go to the store (a memory-only cache then misses on every
 *   read: its only layer is local);
 * - trust returns once the transport reports `connected` and then a gap, after the gap policy
 *   ran on it (or once the first subscription is confirmed); the fence is invalidated again, so
 *   a read that went down while bypassing does not copy up what it read.
 * `backplaneDown: 'keep'` keeps serving local layers during an outage (today's behaviour);
 * `maxLocalTtlMs` bounds their staleness in both modes.
 */
import type { BackplaneGap, BackplaneState } from './contracts/backplane.js'

/** What a manager does with its local layers while the backplane is not live. */
export type BackplaneDownMode = 'bypass' | 'keep'

/** What {@link LocalTrust} drives on the sync engine. */
export interface TrustTarget {
  /** Local layers are usable (true) or bypassed (false); invalidates every fence ticket. */
  setLocalTrust(trusted: boolean): void
  /** Applies the gap policy and emits the gap event. */
  applyGap(gap: BackplaneGap): void
  /** Emits the state event. */
  applyState(state: BackplaneState): void
}

/** The state machine between the transport's reports and the engine's bypass. */
export class LocalTrust {
  /** Local layers are used: the backplane is live (or the mode is `keep`). */
  trusted = true
  /** The state last reported by the transport. */
  state: BackplaneState = 'connected'
  /** Times the local layers were bypassed. */
  bypasses = 0
  readonly #mode: BackplaneDownMode
  readonly #target: TrustTarget
  readonly #replays: boolean

  /** `replays`: the transport redelivers missed frames, so detection bypasses without clearing. */
  constructor(mode: BackplaneDownMode, target: TrustTarget, replays: boolean) {
    this.#mode = mode
    this.#target = target
    this.#replays = replays
  }

  /** The transport reported a state. */
  onState(state: BackplaneState): void {
    this.state = state
    this.#target.applyState(state)
    if (state !== 'connected') this.#distrust(state === 'suspect' ? 'silence' : 'disconnected', state)
  }

  /** The transport reported a gap: the policy runs; trust returns if the connection is live again. */
  onGap(gap: BackplaneGap): void {
    this.#target.applyGap(gap)
    if (!this.trusted && this.state === 'connected') this.#trust()
  }

  /** The first subscription is confirmed: nothing was cached while bypassing, trust without a gap. */
  onStarted(): void {
    if (!this.trusted && this.state === 'connected') this.#trust()
  }

  /** The first subscription failed: bypass until the transport reports `connected` and a gap. */
  onStartFailed(): void {
    this.state = 'disconnected'
    this.#distrust('connect-failed', 'disconnected')
  }

  #distrust(reason: string, state: BackplaneState): void {
    if (this.#mode === 'keep' || !this.trusted) return
    this.trusted = false
    this.bypasses++
    this.#target.setLocalTrust(false)
    // A replaying transport will redeliver what is missed: keep the copies (unused meanwhile).
    if (this.#replays) return
    this.#target.applyGap({
      reason,
      recovered: false,
      detail: `the backplane is ${state}; local layers are bypassed until it is live again`,
    })
  }

  #trust(): void {
    this.trusted = true
    this.#target.setLocalTrust(true)
  }
}
