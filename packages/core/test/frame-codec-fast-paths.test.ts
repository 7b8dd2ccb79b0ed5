import { describe, expect, it } from 'vitest'
import {
  decodeFrame,
  encodedMessageSize,
  encodeFrame,
  isFrameFrom,
  senderIdBytes,
  writeFrame,
} from '../src/backplane/frame-codec.js'
import { newSenderId } from '../src/backplane/backplane-bus.js'
import type { BackplaneMessage } from '../src/backplane/messages.js'

const SENDER = newSenderId()

describe('frame codec fast paths', () => {
  it('encodes strings that turn non-ASCII late, around the one-byte length limit, byte-exactly', () => {
    const messages: BackplaneMessage[] = [
      { type: 'changed', change: 'set', key: 'plain-ascii', region: undefined },
      { type: 'changed', change: 'set', key: 'ascii then é', region: 'ascii then 🌍' },
      { type: 'removed', key: `${'a'.repeat(126)}é`, region: undefined }, // 127 chars, 128 bytes
      { type: 'removed', key: 'b'.repeat(127), region: undefined }, // the longest one-byte length
      { type: 'removed', key: 'c'.repeat(128), region: undefined }, // a two-byte length
      { type: 'regionCleared', region: `${'r'.repeat(100)}ü` },
    ]
    const frame = encodeFrame({ senderId: SENDER, messages })
    expect(decodeFrame(frame)).toEqual({ senderId: SENDER, messages })
    for (const message of messages) {
      const one = encodeFrame({ senderId: SENDER, messages: [message] })
      const empty = encodeFrame({ senderId: SENDER, messages: [] })
      expect(one.length - empty.length).toBe(encodedMessageSize(message))
    }
  })

  it('writes a slice of a message list exactly like encodeFrame writes that list', () => {
    const messages: BackplaneMessage[] = [
      { type: 'cleared' },
      { type: 'changed', change: 'update', key: 'k1', region: 'r' },
      { type: 'removed', key: 'k2', region: undefined },
      { type: 'regionCleared', region: 'r2' },
    ]
    const body = encodedMessageSize(messages[1]!) + encodedMessageSize(messages[2]!)
    for (const secret of [undefined, 'shh']) {
      const written = writeFrame(senderIdBytes(SENDER), messages, 1, 3, body, secret)
      expect(written).toEqual(encodeFrame({ senderId: SENDER, messages: messages.slice(1, 3) }, { secret }))
    }
  })

  it('recognises a sender by the header alone, and only a well-formed header', () => {
    const ours = senderIdBytes(SENDER)
    const frame = encodeFrame({ senderId: SENDER, messages: [{ type: 'cleared' }] })
    expect(isFrameFrom(frame, ours, 1 << 20)).toBe(true)
    expect(isFrameFrom(encodeFrame({ senderId: newSenderId(), messages: [] }), ours, 1 << 20)).toBe(false)
    expect(isFrameFrom(frame, ours, frame.length - 1)).toBe(false) // too large to be accepted
    for (const [index, value] of [
      [0, 0x00], // magic
      [2, 99], // version
      [3, 0x80], // unknown flag
    ] as const) {
      const bad = new Uint8Array(frame)
      bad[index] = value
      expect(isFrameFrom(bad, ours, 1 << 20)).toBe(false)
    }
    expect(isFrameFrom(frame.subarray(0, 20), ours, 1 << 20)).toBe(false) // truncated
  })
})
