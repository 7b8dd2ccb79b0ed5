import { describe, expect, it } from 'vitest'
import type { Backplane, BackplaneListener } from '../src/contracts/backplane.js'
import type { BackplaneMessage, ChangeKind, DecodedFrame } from '../src/backplane/messages.js'
import { BackplaneBus, newSenderId } from '../src/backplane/backplane-bus.js'
import { decodeFrame, encodeFrame, FRAME_HEADER_BYTES, FRAME_VERSION } from '../src/backplane/frame-codec.js'
import { type CacheplaneError, FrameInvalidError, FrameSignatureError } from '../src/errors.js'

const CASES = 10_000
const SECRET = 'fuzz-secret'

/** mulberry32: a tiny seeded PRNG so every run fuzzes the same inputs. */
function prng(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (max: number) => Math.floor(next() * max)
  const bytes = (length: number) => Uint8Array.from({ length }, () => int(256))
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!
  return { next, int, bytes, pick }
}

type Rng = ReturnType<typeof prng>

const ALPHABET = ['a', 'b', 'z', '0', ':', '|', ' ', 'é', 'ß', '日', '🔑', '\u0000', '\u00ff']
const CHANGES: readonly ChangeKind[] = ['add', 'set', 'update', 'expire']

function randomString(rng: Rng): string {
  let text = ''
  const length = rng.pick([0, 1, 2, 5, 20, 140])
  for (let i = 0; i < length; i++) text += rng.pick(ALPHABET)
  return text
}

function randomMessage(rng: Rng): BackplaneMessage {
  const region = rng.next() < 0.5 ? undefined : randomString(rng)
  switch (rng.int(4)) {
    case 0:
      return { type: 'changed', change: rng.pick(CHANGES), key: randomString(rng), region }
    case 1:
      return { type: 'removed', key: randomString(rng), region }
    case 2:
      return { type: 'cleared' }
    default:
      return { type: 'regionCleared', region: randomString(rng) }
  }
}

function randomFrame(rng: Rng): DecodedFrame {
  const senderId = Array.from(rng.bytes(16), (byte) => byte.toString(16).padStart(2, '0')).join('')
  return { senderId, messages: Array.from({ length: rng.int(6) }, () => randomMessage(rng)) }
}

/** Offsets of every varint length/count field in a valid frame: the fields a corrupter aims at. */
function lengthFields(frame: DecodedFrame): number[] {
  const offsets = [FRAME_HEADER_BYTES]
  let pos = FRAME_HEADER_BYTES + varint(frame.messages.length)
  const string = (text: string) => {
    offsets.push(pos)
    const size = Buffer.byteLength(text)
    pos += varint(size) + size
  }
  for (const message of frame.messages) {
    pos += message.type === 'changed' ? 2 : 1
    if (message.type === 'changed' || message.type === 'removed') {
      pos++
      if (message.region !== undefined) string(message.region)
      string(message.key)
    } else if (message.type === 'regionCleared') {
      string(message.region)
    }
  }
  return offsets
}

function varint(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4
}

function mutate(rng: Rng, frame: DecodedFrame, bytes: Uint8Array): Uint8Array {
  switch (rng.int(5)) {
    case 0: {
      const copy = bytes.slice()
      const flips = 1 + rng.int(3)
      const positions = new Set<number>()
      while (positions.size < Math.min(flips, copy.length * 8)) positions.add(rng.int(copy.length * 8))
      for (const bit of positions) copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7))
      return copy
    }
    case 1:
      return bytes.slice(0, rng.int(bytes.length))
    case 2:
      return Uint8Array.from([...bytes, ...rng.bytes(1 + rng.int(16))])
    case 3: {
      const copy = bytes.slice()
      const at = rng.pick(lengthFields(frame))
      const original = copy[at]!
      let value = rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, rng.int(256)])
      if (value === original) value = original ^ 0x40
      copy[at] = value
      return copy
    }
    default: {
      // Duplicate or drop a slice of the body: lengths no longer line up with content.
      const start = FRAME_HEADER_BYTES + rng.int(Math.max(1, bytes.length - FRAME_HEADER_BYTES))
      const length = 1 + rng.int(8)
      return rng.next() < 0.5
        ? Uint8Array.from([
            ...bytes.subarray(0, start),
            ...bytes.subarray(start, start + length),
            ...bytes.subarray(start),
          ])
        : Uint8Array.from([...bytes.subarray(0, start), ...bytes.subarray(start + length)])
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

/** Decodes and reports how it ended; anything but the two typed errors fails the test. */
function tryDecode(bytes: Uint8Array, secret?: string): DecodedFrame | 'invalid' | 'signature' {
  try {
    const frame = decodeFrame(bytes, { secret })
    expectWellFormed(frame)
    return frame
  } catch (error) {
    if (error instanceof FrameSignatureError) return 'signature'
    if (error instanceof FrameInvalidError) return 'invalid'
    throw error
  }
}

function expectWellFormed(frame: DecodedFrame): void {
  expect(frame.senderId).toMatch(/^[0-9a-f]{32}$/)
  for (const message of frame.messages) {
    if (message.type === 'changed' || message.type === 'removed') {
      expect(typeof message.key).toBe('string')
      expect(message.region === undefined || typeof message.region === 'string').toBe(true)
      if (message.type === 'changed') expect(CHANGES).toContain(message.change)
    } else if (message.type === 'regionCleared') {
      expect(typeof message.region).toBe('string')
    } else {
      expect(message.type).toBe('cleared')
    }
  }
}

/** A bus over a transport whose frames the test injects directly. */
function busHarness(secret?: string) {
  let listener: BackplaneListener | undefined
  const delivered: BackplaneMessage[] = []
  const errors: CacheplaneError[] = []
  const backplane: Backplane = {
    name: 'fuzz',
    capabilities: { replay: false, maxFrameBytes: 1 << 20, multiplex: false },
    connect(_channel, l) {
      listener = l
      return { ready: Promise.resolve(), publish: async () => {}, close: async () => {} }
    },
    async close() {},
  }
  const bus = new BackplaneBus({
    backplane,
    channel: 'fuzz',
    senderId: newSenderId(),
    secret,
    maxQueue: 100,
    maxFrameBytes: 1 << 20,
    retry: { baseDelayMs: 1, maxDelayMs: 1 },
    closeTimeoutMs: 100,
    handlers: {
      onMessages: (messages) => delivered.push(...messages),
      onGap: () => {},
      onState: () => {},
      onError: (error) => errors.push(error),
    },
  })
  return {
    bus,
    delivered,
    errors,
    inject: (frame: Uint8Array) => listener!.onFrame(frame),
    start: () => bus.start(),
  }
}

describe('frame fuzzing (seeded)', () => {
  it(`${CASES} random byte arrays: only typed errors, nothing delivered`, async () => {
    const rng = prng(0xc0ffee)
    const harness = busHarness()
    await harness.start()
    let accepted = 0
    for (let i = 0; i < CASES; i++) {
      const length = rng.int(200)
      const bytes = rng.bytes(length)
      // Two thirds get a plausible header so the fuzz reaches the body parser.
      if (i % 3 !== 0 && length >= 4) bytes.set([0x43, 0x50, FRAME_VERSION, rng.int(2)])
      const result = tryDecode(bytes)
      if (typeof result === 'object' && result.messages.length > 0) accepted++
      expect(() => harness.inject(bytes)).not.toThrow()
    }
    expect(accepted).toBe(0)
    expect(harness.delivered).toEqual([])
    expect(harness.bus.stats().droppedInvalid).toBeGreaterThan(CASES * 0.99)
    expect(harness.errors.every((e) => e.code === 'E_FRAME_INVALID' || e.code === 'E_FRAME_SIGNATURE')).toBe(
      true,
    )
    await harness.bus.close()
  })

  it(`${CASES} mutated unsigned frames: only typed errors, and the bus delivers only what decodes`, async () => {
    const rng = prng(0xbadf00d)
    const harness = busHarness()
    await harness.start()
    let deliverable = 0
    let rejected = 0
    for (let i = 0; i < CASES; i++) {
      const frame = randomFrame(rng)
      const valid = encodeFrame(frame)
      const mutated = mutate(rng, frame, valid)
      if (sameBytes(mutated, valid)) continue
      const result = tryDecode(mutated)
      if (typeof result === 'object') deliverable += result.messages.length
      else rejected++
      expect(() => harness.inject(mutated)).not.toThrow()
    }
    // Unsigned frames carry no integrity check: a flipped key bit is a valid frame naming
    // another key. Those are delivered (that is what signing is for); nothing else is.
    expect(harness.delivered).toHaveLength(deliverable)
    expect(harness.bus.stats().droppedInvalid).toBe(rejected)
    expect(rejected).toBeGreaterThan(CASES / 2)
    expect(harness.errors.every((e) => e.code === 'E_FRAME_INVALID')).toBe(true)
    await harness.bus.close()
  })

  it(`${CASES} mutated signed frames: never decoded, never delivered`, async () => {
    const rng = prng(0x5eed)
    const harness = busHarness(SECRET)
    await harness.start()
    let injected = 0
    for (let i = 0; i < CASES; i++) {
      const frame = randomFrame(rng)
      const valid = encodeFrame(frame, { secret: SECRET })
      const mutated = mutate(rng, frame, valid)
      if (sameBytes(mutated, valid)) continue
      expect(typeof tryDecode(mutated, SECRET)).toBe('string')
      harness.inject(mutated)
      injected++
    }
    expect(injected).toBeGreaterThan(CASES * 0.99)
    expect(harness.delivered).toEqual([])
    expect(harness.bus.stats().droppedInvalid).toBe(injected)
    // The untouched frame still goes through: the harness is not rejecting everything.
    harness.inject(
      encodeFrame({ senderId: newSenderId(), messages: [{ type: 'cleared' }] }, { secret: SECRET }),
    )
    expect(harness.delivered).toEqual([{ type: 'cleared' }])
    await harness.bus.close()
  })
})
