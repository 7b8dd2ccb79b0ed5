import { describe, expect, it } from 'vitest'
import { decodeEnvelope, encodeEnvelope } from '../src/envelope.js'
import { jsonSerializer } from '../src/serializers.js'

const item = {
  value: Uint8Array.from([1, 2, 3, 250]),
  mode: 'absolute' as const,
  ttl: 5_000,
  expiresAt: 1_764_000_005_000,
  created: 1_764_000_000_000,
  version: 2 ** 52 + 3,
}

describe('envelope written into memory the caller allocates', () => {
  it('writes every byte of a pool slice (not at offset 0, not zeroed) and decodes back', () => {
    for (const grace of [0, 250]) {
      // Garbage before, inside and after the slice: a header field left unwritten would show.
      const pool = new Uint8Array(200).fill(0xee)
      let used = 0
      const allocate = (size: number): Uint8Array => {
        used = size
        return pool.subarray(13, 13 + size)
      }
      const blob = encodeEnvelope({ ...item, grace }, allocate)
      expect(blob.byteOffset).toBe(13)
      expect(blob.length).toBe(used)
      const copy = encodeEnvelope({ ...item, grace })
      expect([...blob]).toEqual([...copy])
      expect(decodeEnvelope(blob)).toMatchObject({ ...item, ...(grace === 0 ? {} : { grace }) })
      expect(pool[13 + used]).toBe(0xee)
    }
  })

  it('the JSON serializer writes the tag and the UTF-8 body into one exact buffer', () => {
    const value = { name: 'zoë 🚀', n: [1, 2] }
    const bytes = jsonSerializer.serialize(value)
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect(bytes.byteOffset).toBe(0)
    expect(bytes.buffer.byteLength).toBe(bytes.length)
    expect(bytes.length).toBe(1 + Buffer.byteLength(JSON.stringify(value)))
    expect(jsonSerializer.deserialize(bytes)).toEqual(value)
  })
})
