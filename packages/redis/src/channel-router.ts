import type { BackplaneGap, BackplaneListener, BackplaneState } from '@cacheplane/core'

/**
 * Per-channel routing of a shared subscriber connection: which listeners (caches) hear
 * which channel. Frames go to the listeners of their channel only; gaps and states are
 * sent per channel by the connection code, which knows which channels a drop affected.
 * One listener that throws (the contract forbids it) does not keep the others from hearing.
 */
export class ChannelRouter {
  readonly #listeners = new Map<string, Set<BackplaneListener>>()

  /** Adds a listener; true when it is the channel's first (the channel must be subscribed). */
  add(channel: string, listener: BackplaneListener): boolean {
    let listeners = this.#listeners.get(channel)
    const first = listeners === undefined
    if (listeners === undefined) {
      listeners = new Set()
      this.#listeners.set(channel, listeners)
    }
    listeners.add(listener)
    return first
  }

  /** Removes a listener; true when it was the channel's last (the channel can be unsubscribed). */
  remove(channel: string, listener: BackplaneListener): boolean {
    const listeners = this.#listeners.get(channel)
    if (listeners === undefined || !listeners.delete(listener)) return false
    if (listeners.size > 0) return false
    this.#listeners.delete(channel)
    return true
  }

  /** Forgets every listener. */
  clear(): void {
    this.#listeners.clear()
  }

  /** Delivers a frame to the listeners of `channel`; a channel nobody listens to any more is dropped. */
  frame(channel: string, frame: Uint8Array): void {
    this.#each(channel, (listener) => listener.onFrame(frame))
  }

  /** Reports a gap to the listeners of `channel`. */
  gap(channel: string, gap: BackplaneGap): void {
    this.#each(channel, (listener) => listener.onGap(gap))
  }

  /** Reports a state change to the listeners of `channel`. */
  state(channel: string, state: BackplaneState): void {
    this.#each(channel, (listener) => listener.onState(state))
  }

  #each(channel: string, call: (listener: BackplaneListener) => void): void {
    const listeners = this.#listeners.get(channel)
    if (listeners === undefined) return
    for (const listener of [...listeners]) {
      try {
        call(listener)
      } catch (error) {
        process.emitWarning(`a backplane listener on channel ${channel} threw: ${String(error)}`)
      }
    }
  }
}
