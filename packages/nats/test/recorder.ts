import type { BackplaneGap, BackplaneListener, BackplaneState } from '@cacheplane/core'

/** A listener that records what a backplane reports, for assertions. */
export interface Recorder extends BackplaneListener {
  /** Frames received, decoded as UTF-8 text. */
  readonly frames: string[]
  /** Gaps reported, in order. */
  readonly gaps: BackplaneGap[]
  /** States reported, in order. */
  readonly states: BackplaneState[]
}

/** A fresh recorder. */
export function recorder(): Recorder {
  const frames: string[] = []
  const gaps: BackplaneGap[] = []
  const states: BackplaneState[] = []
  const decoder = new TextDecoder()
  return {
    frames,
    gaps,
    states,
    onFrame: (frame) => void frames.push(decoder.decode(frame)),
    onGap: (gap) => void gaps.push(gap),
    onState: (state) => void states.push(state),
  }
}

/** `text` as frame bytes. */
export const frame = (text: string): Uint8Array => new TextEncoder().encode(text)
