import type { BackplaneGap, BackplaneListener, BackplaneState } from '@cacheplane/core'

/** A listener that records what a backplane reports, for assertions. */
export interface Recorder extends BackplaneListener {
  /** Frames received, decoded as UTF-8 text. */
  readonly frames: string[]
  /** Gaps reported, in order. */
  readonly gaps: BackplaneGap[]
  /** States reported, in order. */
  readonly states: BackplaneState[]
  /** Everything in arrival order: `frame:<text>`, `gap:<reason>:<recovered>`, `state:<state>`. */
  readonly log: string[]
}

/** A fresh recorder. */
export function recorder(): Recorder {
  const frames: string[] = []
  const gaps: BackplaneGap[] = []
  const states: BackplaneState[] = []
  const log: string[] = []
  const decoder = new TextDecoder()
  return {
    frames,
    gaps,
    states,
    log,
    onFrame(frame) {
      const text = decoder.decode(frame)
      frames.push(text)
      log.push(`frame:${text}`)
    },
    onGap(gap) {
      gaps.push(gap)
      log.push(`gap:${gap.reason}:${gap.recovered}`)
    },
    onState(state) {
      states.push(state)
      log.push(`state:${state}`)
    },
  }
}

/** `text` as frame bytes. */
export const frame = (text: string): Uint8Array => new TextEncoder().encode(text)
