import { createSecretKey } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { BackplaneMessage, DecodedFrame } from '../src/backplane/messages.js'
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodeFrame,
  encodedMessageSize,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_SIGNATURE_BYTES,
  FRAME_VERSION,
  frameOverheadBytes,
} from '../src/backplane/frame-codec.js'
import { FrameInvalidError, FrameSignatureError } from '../src/errors.js'

const SENDER = '0123456789abcdef0123456789abcdef'

const ALL_KINDS: BackplaneMessage[] = [
  { type: 'changed', change: 'add', key: 'a', region: undefined },
  { type: 'changed', change: 'set', key: 'b', region: 'eu' },
  { type: 'changed', change: 'update', key: 'c', region: undefined },
  { type: 'changed', change: 'expire', key: 'd', region: 'us' },
  { type: 'removed', key: 'e', region: undefined },
  { type: 'removed', key: 'f', region: 'eu' },
  { type: 'cleared' },
  { type: 'regionCleared', region: 'eu' },
]

function roundTrip(frame: DecodedFrame, secret?: string): DecodedFrame {
  return decodeFrame(encodeFrame(frame, { secret }), { secret })
}

function expectInvalid(bytes: Uint8Array, options?: Parameters<typeof decodeFrame>[1]): void {
  expect(() => decodeFrame(bytes, options)).toThrow(FrameInvalidError)
}

describe('frame codec round trips', () => {
  it('carries every message kind, in order, with and without regions', () => {
    const frame = { senderId: SENDER, messages: ALL_KINDS }
    expect(roundTrip(frame)).toEqual(frame)
  })

  it('keeps an empty region distinct from an absent one, and empty keys', () => {
    const messages: BackplaneMessage[] = [
      { type: 'removed', key: 'k', region: '' },
      { type: 'removed', key: 'k', region: undefined },
      { type: 'changed', change: 'set', key: '', region: '' },
      { type: 'regionCleared', region: '' },
    ]
    const decoded = roundTrip({ senderId: SENDER, messages })
    expect(decoded.messages).toEqual(messages)
    expect(decoded.messages[0]).toHaveProperty('region', '')
    expect(decoded.messages[1]).toHaveProperty('region', undefined)
  })

  it('carries unicode keys and regions byte-exactly', () => {
    const messages: BackplaneMessage[] = [
      { type: 'changed', change: 'set', key: 'ключ-🔑-鍵-\u0000-é', region: 'région-🌍' },
      { type: 'regionCleared', region: '日本' },
      { type: 'removed', key: '\u{10ffff}\ufeff', region: undefined },
    ]
    expect(roundTrip({ senderId: SENDER, messages }).messages).toEqual(messages)
  })

  it('carries an empty frame and long strings with multi-byte varint lengths', () => {
    expect(roundTrip({ senderId: SENDER, messages: [] })).toEqual({ senderId: SENDER, messages: [] })
    const long: BackplaneMessage[] = [
      { type: 'removed', key: 'x'.repeat(200), region: 'y'.repeat(20_000) },
      { type: 'removed', key: 'z'.repeat(70_000), region: undefined },
    ]
    expect(roundTrip({ senderId: SENDER, messages: long }).messages).toEqual(long)
  })

  it('carries many messages (multi-byte message count)', () => {
    const messages: BackplaneMessage[] = Array.from({ length: 1000 }, (_, i) => ({
      type: 'removed',
      key: `k${i}`,
      region: i % 2 === 0 ? undefined : `r${i}`,
    }))
    expect(roundTrip({ senderId: SENDER, messages }).messages).toEqual(messages)
  })

  it('writes the documented layout', () => {
    const bytes = encodeFrame({
      senderId: SENDER,
      messages: [{ type: 'changed', change: 'set', key: 'k', region: 'r' }],
    })
    expect([...bytes]).toEqual([
      0x43,
      0x50,
      FRAME_VERSION,
      0,
      ...Buffer.from(SENDER, 'hex'),
      1, // count
      1, // changed
      2, // set
      1, // region present
      1,
      0x72, // 'r'
      1,
      0x6b, // 'k'
    ])
    expect(bytes.length).toBe(frameOverheadBytes(1, false) + encodedMessageSize({ type: 'cleared' }) + 6)
  })

  it('rejects what it cannot encode faithfully', () => {
    const ok: BackplaneMessage = { type: 'cleared' }
    for (const senderId of ['', 'xyz', SENDER.toUpperCase(), `${SENDER}00`]) {
      expect(() => encodeFrame({ senderId, messages: [ok] })).toThrow(FrameInvalidError)
    }
    const bad = [
      { type: 'removed', key: 'lone \ud800 surrogate', region: undefined },
      { type: 'removed', key: 'k', region: '\udc00' },
      { type: 'changed', change: 'toString', key: 'k', region: undefined },
      { type: 'nope' },
      { type: 'removed', key: 42, region: undefined },
    ] as unknown as BackplaneMessage[]
    for (const message of bad) {
      expect(() => encodeFrame({ senderId: SENDER, messages: [message] })).toThrow(FrameInvalidError)
    }
  })
})

describe('frame codec limits', () => {
  it('enforces the maximum frame size on both sides', () => {
    const frame: DecodedFrame = {
      senderId: SENDER,
      messages: [{ type: 'removed', key: 'k'.repeat(100), region: undefined }],
    }
    const size = encodeFrame(frame).length
    expect(encodeFrame(frame, { maxFrameBytes: size })).toHaveLength(size)
    expect(() => encodeFrame(frame, { maxFrameBytes: size - 1 })).toThrow(FrameInvalidError)
    const bytes = encodeFrame(frame)
    expect(decodeFrame(bytes, { maxFrameBytes: size })).toEqual(frame)
    expectInvalid(bytes, { maxFrameBytes: size - 1 })
    const huge = new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1)
    huge.set(bytes)
    expectInvalid(huge)
  })

  it('rejects foreign and malformed frames with FrameInvalidError', () => {
    const valid = encodeFrame({ senderId: SENDER, messages: [{ type: 'removed', key: 'key', region: 'r' }] })
    const mutate = (at: number, value: number) => {
      const copy = valid.slice()
      copy[at] = value
      return copy
    }
    const body = FRAME_HEADER_BYTES + 1
    expectInvalid(new Uint8Array(0))
    expectInvalid(valid.subarray(0, FRAME_HEADER_BYTES))
    expectInvalid(mutate(0, 0x7b)) // magic
    expectInvalid(mutate(1, 0x00))
    expectInvalid(mutate(2, FRAME_VERSION + 1)) // version
    expectInvalid(mutate(3, 0x02)) // unknown flag
    expectInvalid(mutate(body, 9)) // unknown type
    expectInvalid(mutate(body + 1, 2)) // bad region presence
    expectInvalid(mutate(FRAME_HEADER_BYTES, 2)) // count says 2
    expectInvalid(mutate(body + 2, 200)) // region length beyond the frame
    for (let end = 0; end < valid.length; end++) expectInvalid(valid.subarray(0, end))
    expectInvalid(Uint8Array.from([...valid, 0])) // trailing garbage
    const changed = encodeFrame({
      senderId: SENDER,
      messages: [{ type: 'changed', change: 'set', key: 'k', region: undefined }],
    })
    const badChange = changed.slice()
    badChange[body + 1] = 7
    expectInvalid(badChange)
    expectInvalid('not bytes' as unknown as Uint8Array)
  })

  it('rejects invalid UTF-8 and overflowing varints', () => {
    const valid = encodeFrame({
      senderId: SENDER,
      messages: [{ type: 'removed', key: 'ab', region: undefined }],
    })
    const badUtf8 = valid.slice()
    badUtf8[badUtf8.length - 2] = 0xc3
    badUtf8[badUtf8.length - 1] = 0x28
    expectInvalid(badUtf8)
    const header = valid.subarray(0, FRAME_HEADER_BYTES)
    expectInvalid(Uint8Array.from([...header, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 3]))
    expectInvalid(Uint8Array.from([...header, 0xff, 0xff, 0xff, 0xff, 0x7f, 3]))
    expectInvalid(Uint8Array.from([...header, 1, 2, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]))
  })
})

describe('signed frames', () => {
  const secret = 'correct horse battery staple'
  const frame: DecodedFrame = { senderId: SENDER, messages: ALL_KINDS }

  it('are accepted with the right secret as string, bytes or key object', () => {
    const signed = encodeFrame(frame, { secret })
    expect(signed.length).toBe(encodeFrame(frame).length + FRAME_SIGNATURE_BYTES)
    expect(decodeFrame(signed, { secret })).toEqual(frame)
    expect(decodeFrame(signed, { secret: Buffer.from(secret) })).toEqual(frame)
    expect(decodeFrame(signed, { secret: createSecretKey(Buffer.from(secret)) })).toEqual(frame)
  })

  it('are accepted without a secret (nothing to verify against)', () => {
    expect(decodeFrame(encodeFrame(frame, { secret }))).toEqual(frame)
  })

  it('reject unsigned frames, wrong secrets and every tampered byte with FrameSignatureError', () => {
    expect(() => decodeFrame(encodeFrame(frame), { secret })).toThrow(FrameSignatureError)
    const signed = encodeFrame(frame, { secret })
    expect(() => decodeFrame(signed, { secret: 'wrong' })).toThrow(FrameSignatureError)
    // Header bytes 0..3 are checked before the signature (foreign / unknown version).
    for (let i = 4; i < signed.length; i++) {
      const tampered = signed.slice()
      tampered[i] = tampered[i]! ^ 0x01
      expect(() => decodeFrame(tampered, { secret })).toThrow(FrameSignatureError)
    }
    // Clearing the signed flag turns the frame into an unsigned one with trailing bytes.
    const unflagged = signed.slice()
    unflagged[3] = 0
    expect(() => decodeFrame(unflagged, { secret })).toThrow(FrameSignatureError)
    expect(() => decodeFrame(unflagged)).toThrow(FrameInvalidError)
  })

  it('reject a signed frame too short to hold a signature', () => {
    const signed = encodeFrame({ senderId: SENDER, messages: [] }, { secret })
    expect(() => decodeFrame(signed.subarray(0, signed.length - 1), { secret })).toThrow(FrameInvalidError)
  })
})
