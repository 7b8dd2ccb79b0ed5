import { describe, expect, it } from 'vitest'
import { decodeEnvelope, ENVELOPE_HEADER_BYTES, ENVELOPE_VERSION, encodeEnvelope } from '../src/envelope.js'
import { InvalidValueError, ItemCorruptError } from '../src/errors.js'

const item = {
  value: Uint8Array.from([1, 2, 3, 250]),
  mode: 'sliding' as const,
  ttl: 5_000,
  expiresAt: 1_764_000_005_000,
  created: 1_764_000_000_000,
  version: 7,
}

describe('envelope', () => {
  it('round-trips every mode, empty values and extreme but valid numbers', () => {
    const items = [
      item,
      { ...item, mode: 'absolute' as const, version: 1 },
      { ...item, mode: 'none' as const, ttl: 0, expiresAt: 0 },
      { ...item, value: new Uint8Array(0) },
      { ...item, created: 0, expiresAt: Number.MAX_SAFE_INTEGER, version: Number.MAX_SAFE_INTEGER, ttl: 0.5 },
      { ...item, value: new Uint8Array(100_000).fill(9) },
    ]
    for (const input of items) {
      const bytes = encodeEnvelope(input)
      expect(bytes.length).toBe(ENVELOPE_HEADER_BYTES + input.value.length)
      const back = decodeEnvelope(bytes)
      expect({ ...back, value: [...back.value] }).toEqual({ ...input, value: [...input.value] })
    }
  })

  it('decodes from a view at an offset into a larger buffer', () => {
    const bytes = encodeEnvelope(item)
    const padded = new Uint8Array(bytes.length + 3)
    padded.set(bytes, 3)
    const back = decodeEnvelope(padded.subarray(3))
    expect([...back.value]).toEqual([...item.value])
    expect(back.version).toBe(7)
  })

  it('throws ItemCorruptError for anything malformed', () => {
    const valid = encodeEnvelope(item)
    const patched = (patch: (view: DataView) => void) => {
      const copy = valid.slice()
      patch(new DataView(copy.buffer))
      return copy
    }
    const corrupt = [
      patched((view) => view.setUint8(0, 0x00)), // magic
      patched((view) => view.setUint8(1, 0x00)),
      patched((view) => view.setUint8(2, ENVELOPE_VERSION + 1)), // version
      patched((view) => view.setUint8(3, 3)), // mode
      patched((view) => view.setFloat64(4, Number.NaN, true)), // ttl
      patched((view) => view.setFloat64(12, -1, true)), // expiresAt
      patched((view) => view.setFloat64(20, Number.POSITIVE_INFINITY, true)), // created
      patched((view) => view.setFloat64(28, 0, true)), // version 0
      patched((view) => view.setFloat64(28, 1.5, true)), // fractional version
      'not bytes' as unknown as Uint8Array,
    ]
    for (let length = 0; length < ENVELOPE_HEADER_BYTES; length++) corrupt.push(valid.subarray(0, length))
    for (const bytes of corrupt) expect(() => decodeEnvelope(bytes)).toThrow(ItemCorruptError)
  })

  it('rejects malformed input when encoding', () => {
    const bad = [
      { ...item, value: 'text' },
      { ...item, mode: 'forever' },
      { ...item, mode: 'toString' },
      { ...item, ttl: -1 },
      { ...item, expiresAt: Number.NaN },
      { ...item, created: Number.POSITIVE_INFINITY },
      { ...item, version: 0 },
      { ...item, version: 2.5 },
    ]
    for (const input of bad) expect(() => encodeEnvelope(input as never)).toThrow(InvalidValueError)
  })
})
