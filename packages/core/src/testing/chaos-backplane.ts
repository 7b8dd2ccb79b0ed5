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

/** Wraps `backplane` in fault controls (see {@link ChaosBackplaneControls}). */
export function chaosBackplane(backplane: Backplane): ChaosBackplane {
  const listeners = new Set<BackplaneListener>()
  let failures = 0
  let failureError: unknown
  let dropping = false
  let publishAttempts = 0
  let published = 0
  let dropped = 0

  const everyListener = (what: string): BackplaneListener[] => {
    if (listeners.size === 0) throw new Error(`chaosBackplane.${what}: no subscription is open`)
    return [...listeners]
  }

  const wrap = (inner: BackplaneSubscription, target: BackplaneListener): BackplaneSubscription => ({
    ready: inner.ready,
    async publish(frame) {
      publishAttempts++
      if (failures > 0) {
        failures--
        throw failureError ?? new Error(`chaos: ${backplane.name}.publish failed (failPublishes)`)
      }
      await inner.publish(frame)
      published++
    },
    close() {
      listeners.delete(target)
      return inner.close()
    },
  })

  return {
    name: backplane.name,
    capabilities: backplane.capabilities,
    connect(channel, target) {
      const inner = backplane.connect(channel, {
        onFrame(frame) {
          if (dropping) {
            dropped++
            return
          }
          target.onFrame(frame)
        },
        onGap: (gap) => target.onGap(gap),
        onState: (state) => target.onState(state),
      })
      listeners.add(target)
      return wrap(inner, target)
    },
    close() {
      listeners.clear()
      return backplane.close()
    },
    failPublishes(n: number, error?: unknown) {
      failures = n
      failureError = error
    },
    dropIncoming(on = true) {
      dropping = on
    },
    emitGap(gap: Partial<BackplaneGap> = {}) {
      for (const listener of everyListener('emitGap'))
        listener.onGap({ reason: 'chaos', recovered: false, ...gap })
    },
    setState(state: BackplaneState) {
      for (const listener of everyListener('setState')) listener.onState(state)
    },
    get publishAttempts() {
      return publishAttempts
    },
    get published() {
      return published
    },
    get dropped() {
      return dropped
    },
    get subscriptions() {
      return listeners.size
    },
    inner: backplane,
  }
}
