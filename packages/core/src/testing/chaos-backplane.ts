/**
 * A Backplane wrapper that injects faults: rejected publishes, dropped incoming frames,
 * synthetic gaps and connection-state changes. It keeps the wrapped backplane's name and
 * capabilities; the faults apply to every subscription on it (every cache sharing it).
 */
import type {
  Backplane,
  BackplaneGap,
  BackplaneListener,
  BackplaneState,
  BackplaneSubscription,
} from '../contracts/backplane.js'

/** The fault controls of a chaos backplane. */
export interface ChaosBackplaneControls {
  /** The next `n` publishes reject with `error` (default a fresh Error) without reaching the transport. */
  failPublishes(n: number, error?: unknown): void
  /** While on (default true), incoming frames are dropped before core sees them. */
  dropIncoming(on?: boolean): void
  /** Reports a gap to every open subscription as the transport would (default `{ reason: 'chaos', recovered: false }`). */
  emitGap(gap?: Partial<BackplaneGap>): void
  /** Reports a connection state change to every open subscription as the transport would. */
  setState(state: BackplaneState): void
  /** Publishes attempted so far, failed ones included. */
  readonly publishAttempts: number
  /** Frames handed to the wrapped transport. */
  readonly published: number
  /** Incoming frames dropped so far. */
  readonly dropped: number
  /** Subscriptions open now (one per connected cache). */
  readonly subscriptions: number
  /** The wrapped backplane. */
  readonly inner: Backplane
}

/** A Backplane with fault controls. */
export type ChaosBackplane = Backplane & ChaosBackplaneControls

/** The faults in force and what they did, shared by every subscription of one chaos backplane. */
interface ChaosState {
  readonly listeners: Set<BackplaneListener>
  failures: number
  failureError: unknown
  dropping: boolean
  publishAttempts: number
  published: number
  dropped: number
}

/** One subscription of the wrapped backplane, with its publishes subject to `failPublishes`. */
function chaosSubscription(
  state: ChaosState,
  name: string,
  inner: BackplaneSubscription,
  target: BackplaneListener,
): BackplaneSubscription {
  return {
    ready: inner.ready,
    async publish(frame) {
      state.publishAttempts++
      if (state.failures > 0) {
        state.failures--
        throw state.failureError ?? new Error(`chaos: ${name}.publish failed (failPublishes)`)
      }
      await inner.publish(frame)
      state.published++
    },
    close() {
      state.listeners.delete(target)
      return inner.close()
    },
  }
}

/**
 * Subscribes `target` through the chaos layer: dropped frames never reach it, and its
 * publishes are subject to `failPublishes`.
 */
function chaosConnect(
  state: ChaosState,
  backplane: Backplane,
  channel: string,
  target: BackplaneListener,
): BackplaneSubscription {
  const inner = backplane.connect(channel, {
    onFrame(frame) {
      if (state.dropping) state.dropped++
      else target.onFrame(frame)
    },
    onGap: (gap) => target.onGap(gap),
    onState: (change) => target.onState(change),
  })
  state.listeners.add(target)
  return chaosSubscription(state, backplane.name, inner, target)
}

/** Every open subscription's listener; a synthetic event with none open is a mistake in the test. */
function everyListener(state: ChaosState, what: string): BackplaneListener[] {
  if (state.listeners.size === 0) throw new Error(`chaosBackplane.${what}: no subscription is open`)
  return [...state.listeners]
}

/** Wraps `backplane` in fault controls (see {@link ChaosBackplaneControls}). */
export function chaosBackplane(backplane: Backplane): ChaosBackplane {
  const state: ChaosState = {
    listeners: new Set(),
    failures: 0,
    failureError: undefined,
    dropping: false,
    publishAttempts: 0,
    published: 0,
    dropped: 0,
  }
  return {
    name: backplane.name,
    capabilities: backplane.capabilities,
    connect: (channel, target) => chaosConnect(state, backplane, channel, target),
    close() {
      state.listeners.clear()
      return backplane.close()
    },
    failPublishes(n: number, error?: unknown) {
      state.failures = n
      state.failureError = error
    },
    dropIncoming(on = true) {
      state.dropping = on
    },
    emitGap(gap: Partial<BackplaneGap> = {}) {
      for (const listener of everyListener(state, 'emitGap'))
        listener.onGap({ reason: 'chaos', recovered: false, ...gap })
    },
    setState(change: BackplaneState) {
      for (const listener of everyListener(state, 'setState')) listener.onState(change)
    },
    get publishAttempts() {
      return state.publishAttempts
    },
    get published() {
      return state.published
    },
    get dropped() {
      return state.dropped
    },
    get subscriptions() {
      return state.listeners.size
    },
    inner: backplane,
  }
}
