/**
 * Packs queued messages into encoded frames that fit the frame size limit: the smaller
 * of the bus's own limit and the transport's, read per batch because a transport may
 * learn its limit only on connect (NATS `max_payload`).
 *
 * A message that no frame can carry (a key longer than the limit, an ill-formed string)
 * is replaced by the narrowest clear that covers it — `regionCleared` of its region,
 * else `cleared` — and reported: receivers evict more than needed, never less.
 *
 * Every frame is timestamped with the wall clock when it is encoded (just before it is
 * published), so receivers can measure propagation latency.
 */
import type { Backplane } from '../contracts/backplane.js'
import type { KeyObject } from 'node:crypto'
import { type CacheplaneError, FrameInvalidError } from '../errors.js'
import { encodedMessageSize, frameOverheadBytes, senderIdBytes, writeFrame } from './frame-codec.js'
import type { BackplaneMessage } from './messages.js'
import type { OutboundBatch } from './outbound-queue.js'

const CLEARED: BackplaneMessage = Object.freeze({ type: 'cleared' })

/** One encoded frame and how many queued messages it carries. */
export interface PackedFrame {
  readonly bytes: Uint8Array
  readonly count: number
}

/** Fits and packs messages for one sender. */
export class FramePacker {
  /** Bytes of the last message {@link fit} returned. */
  fittedSize = 0
  private readonly sender: Uint8Array

  constructor(
    private readonly backplane: Backplane,
    private readonly maxFrameBytes: number,
    senderId: string,
    private readonly secret: KeyObject | undefined,
    private readonly report: (error: CacheplaneError) => void,
  ) {
    this.sender = senderIdBytes(senderId)
  }

  /** Largest frame to publish now. */
  limit(): number {
    const transport = this.backplane.capabilities.maxFrameBytes
    return transport > 0 ? Math.min(this.maxFrameBytes, transport) : this.maxFrameBytes
  }

  /** Smallest limit that can carry a message at all (a `cleared`). */
  minimumLimit(): number {
    return frameOverheadBytes(1, this.secret !== undefined, true) + 1
  }

  /**
   * The message itself when a frame can carry it, else the narrowest clear covering it;
   * its size in a frame is left in {@link fittedSize} (a field, not a returned pair: this
   * runs once per write, and the size travels with the message so no frame sizes it again).
   */
  fit(message: BackplaneMessage, limit = this.limit()): BackplaneMessage {
    const budget = limit - frameOverheadBytes(1, this.secret !== undefined, true)
    const size = sizeOf(message)
    if (size <= budget) {
      this.fittedSize = size
      return message
    }
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
    this.fittedSize = sizeOf(replacement)
    return replacement
  }

  /**
   * Encodes `batch` from index `from` on, in order, into as few frames as the limit allows
   * (lazily, one per step). A message the limit no longer fits (it may have shrunk since
   * the message was queued) is replaced in the batch by the clear that covers it.
   */
  *frames(batch: OutboundBatch, from: number): Generator<PackedFrame> {
    const signed = this.secret !== undefined
    const limit = this.limit()
    const budget = limit - frameOverheadBytes(1, signed, true)
    const { messages, sizes } = batch
    let start = from
    let body = 0
    for (let i = from; i < messages.length; i++) {
      let size = sizes[i]!
      if (size > budget) {
        messages[i] = this.fit(messages[i]!, limit)
        size = sizes[i] = this.fittedSize
      }
      if (i > start && frameOverheadBytes(i - start + 1, signed, true) + body + size > limit) {
        const bytes = writeFrame(this.sender, messages, start, i, body, this.secret, Date.now())
        yield { bytes, count: i - start }
        start = i
        body = 0
      }
      body += size
    }
    if (messages.length > start) {
      yield {
        bytes: writeFrame(this.sender, messages, start, messages.length, body, this.secret, Date.now()),
        count: messages.length - start,
      }
    }
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
