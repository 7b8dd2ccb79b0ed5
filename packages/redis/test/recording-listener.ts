import type { BackplaneGap, BackplaneListener, BackplaneState } from '@cacheplane/core'

/** A backplane listener that records what it hears, for assertions with waitFor. */
export class RecordingListener implements BackplaneListener {
  /** Frames received, in order. */
  readonly frames: Uint8Array[] = []
  /** Gaps reported, in order. */
  readonly gaps: BackplaneGap[] = []
  /** States reported, in order. */
  readonly states: BackplaneState[] = []

  onFrame(frame: Uint8Array): void {
    this.frames.push(frame)
  }

  onGap(gap: BackplaneGap): void {
    this.gaps.push(gap)
  }

  onState(state: BackplaneState): void {
    this.states.push(state)
  }

  /** The frames decoded as UTF-8 text. */
  texts(): string[] {
    return this.frames.map((frame) => new TextDecoder().decode(frame))
  }
}
