/**
 * Renders what `watch` hears on a backplane channel as lines for an operator: one line
 * per message of a decoded frame, one flagged line per frame that fails to decode or
 * verify, and a line per gap or connection change.
 */
import {
  type BackplaneGap,
  type BackplaneMessage,
  type BackplaneState,
  CacheplaneError,
  decodeFrame,
  FRAME_HEADER_BYTES,
  type FrameSecret,
} from '@cacheplane/core'
import { printable } from './printable.js'

/** Counts of what a printer has seen. */
export interface FrameTally {
  /** Frames that decoded (and verified, with a secret). */
  valid: number
  /** Frames rejected by the decoder. */
  invalid: number
  /** Gaps reported by the backplane. */
  gaps: number
}

function describeMessage(message: BackplaneMessage): string {
  switch (message.type) {
    case 'changed':
      return `changed:${message.change}${region(message.region)} key=${printable(message.key)}`
    case 'removed':
      return `removed${region(message.region)} key=${printable(message.key)}`
    case 'cleared':
      return 'cleared (whole cache)'
    case 'regionCleared':
      return `regionCleared region=${printable(message.region)}`
    case 'tagInvalidated':
      return `tagInvalidated tag=${printable(message.tag)} stamp=${message.stamp}`
  }
}

function region(value: string | undefined): string {
  return value === undefined ? '' : ` region=${printable(value)}`
}

// The header is readable before the body is trusted: it says who claims to have sent a frame.
function claimedSender(bytes: Uint8Array): string | undefined {
  if (bytes.length < FRAME_HEADER_BYTES || bytes[0] !== 0x43 || bytes[1] !== 0x50) return undefined
  return Buffer.from(bytes.subarray(4, FRAME_HEADER_BYTES)).toString('hex')
}

/** Formats frames, gaps and states into lines, counting them. */
export class FramePrinter {
  /** What has been printed so far. */
  readonly tally: FrameTally = { valid: 0, invalid: 0, gaps: 0 }
  readonly #secret: FrameSecret | undefined
  readonly #write: (line: string) => void

  constructor(write: (line: string) => void, secret: FrameSecret | undefined) {
    this.#write = write
    this.#secret = secret
  }

  /** Decodes one frame and prints it, or prints why it was rejected. Never throws. */
  frame(bytes: Uint8Array, at: Date = new Date()): void {
    const time = at.toISOString()
    let decoded: ReturnType<typeof decodeFrame>
    try {
      decoded = decodeFrame(bytes, { secret: this.#secret })
    } catch (error) {
      this.tally.invalid++
      const code = error instanceof CacheplaneError ? error.code : 'E_UNKNOWN'
      const sender = claimedSender(bytes)
      const from = sender === undefined ? '' : ` claimed sender ${sender}`
      this.#write(`${time}  !! ${code} ${(error as Error).message} (${bytes.length} bytes${from})`)
      return
    }
    this.tally.valid++
    const signed = (bytes[3]! & 0x01) !== 0
    const signature = !signed ? '' : this.#secret === undefined ? '  [signed, not verified]' : '  [verified]'
    if (decoded.messages.length === 0) {
      this.#write(`${time}  ${decoded.senderId}  (empty frame)${signature}`)
      return
    }
    for (const message of decoded.messages) {
      this.#write(`${time}  ${decoded.senderId}  ${describeMessage(message)}${signature}`)
    }
  }

  /** Prints a gap: frames may have been missed. */
  gap(gap: BackplaneGap, at: Date = new Date()): void {
    this.tally.gaps++
    const recovered = gap.recovered ? 'recovered by replay' : 'frames may have been missed'
    const detail = gap.detail === undefined ? '' : `: ${gap.detail}`
    this.#write(`${at.toISOString()}  -- gap (${gap.reason}, ${recovered})${detail}`)
  }

  /** Prints a connection state change. */
  state(state: BackplaneState, at: Date = new Date()): void {
    this.#write(`${at.toISOString()}  -- backplane ${state}`)
  }
}
