/**
 * Packs queued messages into encoded frames that fit the frame size limit: the smaller
 * of the bus's own limit and the transport's, read per batch because a transport may
 * learn its limit only on connect (NATS `max_payload`).
 *
 * A message that no frame can carry (a key longer than the limit, an ill-formed string)
 * is replaced by the narrowest clear that covers it — `regionCleared` of its region,
 * else `cleared` — and reported: receivers evict more than needed, never less.
 */
import type { Backplane } from '../contracts/backplane.js'
import type { KeyObject } from 'node:crypto'
import { type CacheplaneError, FrameInvalidError } from '../errors.js'
import { encodedMessageSize, encodeFrame, frameOverheadBytes } from './frame-codec.js'
import type { BackplaneMessage } from './messages.js'
import type { QueuedMessage } from './outbound-queue.js'

const CLEARED: BackplaneMessage = Object.freeze({ type: 'cleared' })

/** One encoded frame and how many queued messages it carries. */
export interface PackedFrame {
  readonly bytes: Uint8Array
  readonly count: number
}

/** Fits and packs messages for one sender. */
export class FramePacker {
  constructor(
    private readonly backplane: Backplane,
    private readonly maxFrameBytes: number,
    private readonly senderId: string,
    private readonly secret: KeyObject | undefined,
    private readonly report: (error: CacheplaneError) => void,
  ) {}

  /** Largest frame to publish now. */
  limit(): number {
    const transport = this.backplane.capabilities.maxFrameBytes
    return transport > 0 ? Math.min(this.maxFrameBytes, transport) : this.maxFrameBytes
  }

  /** Smallest limit that can carry a message at all (a `cleared`). */
  minimumLimit(): number {
    return frameOverheadBytes(1, this.secret !== undefined) + 1
  }

  /** The message itself when a frame can carry it, else the narrowest clear covering it. */
  fit(message: BackplaneMessage, limit = this.limit()): BackplaneMessage {
    const budget = limit - frameOverheadBytes(1, this.secret !== undefined)
    if (sizeOf(message) <= budget) return message
    const keyed =
      typeof message === 'object' &&
      message !== null &&
      (message.type === 'changed' || message.type === 'removed')
    const regionCleared: BackplaneMessage | undefined =
      keyed && typeof message.region === 'string'
        ? { type: 'regionCleared', region: message.region }
        : undefined
    const replacement =
      regionCleared !== undefined && sizeOf(regionCleared) <= budget ? regionCleared : CLEARED
    this.report(
      new FrameInvalidError(
        `a message cannot be carried by a frame; announcing ${replacement.type} instead`,
        {
          source: this.backplane.name,
        },
      ),
    )
    return replacement
  }

  /** Encodes a batch, in order, into as few frames as the limit allows (lazily, one per step). */
  *frames(batch: readonly QueuedMessage[]): Generator<PackedFrame> {
    const signed = this.secret !== undefined
    const limit = this.limit()
    const options = { secret: this.secret, maxFrameBytes: limit }
    const senderId = this.senderId
    let messages: BackplaneMessage[] = []
    let body = 0
    for (const entry of batch) {
      // The limit may have shrunk since the message was queued.
      const message = this.fit(entry.message, limit)
      const size = encodedMessageSize(message)
      if (messages.length > 0 && frameOverheadBytes(messages.length + 1, signed) + body + size > limit) {
        yield { bytes: encodeFrame({ senderId, messages }, options), count: messages.length }
        messages = []
        body = 0
      }
      messages.push(message)
      body += size
    }
    if (messages.length > 0)
      yield { bytes: encodeFrame({ senderId, messages }, options), count: messages.length }
  }
}

/** Bytes of a message in a frame; `Infinity` when it cannot be encoded (ill-formed string, unknown type). */
function sizeOf(message: BackplaneMessage): number {
  try {
    return encodedMessageSize(message)
  } catch {
    return Number.POSITIVE_INFINITY
  }
}
