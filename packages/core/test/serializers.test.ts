import { describe, expect, it } from 'vitest'
import { ItemCorruptError, SerializeError } from '../src/errors.js'
import { JSON_FORMAT_TAG, jsonSerializer, V8_FORMAT_TAG, v8Serializer } from '../src/serializers.js'

const roundTrip = (serializer: typeof jsonSerializer, value: unknown) =>
  serializer.deserialize(serializer.serialize(value))

function cyclic(): unknown {
  const node: Record<string, unknown> = { name: 'loop' }
  node.self = node
  return node
}

describe('jsonSerializer', () => {
  it('round-trips JSON data', () => {
    const values = [
      { id: 42, name: 'Zoë 🚀', tags: ['a', 'b'], nested: { ok: true, none: null, score: -1.5e-7 } },
      [1, 'two', [3], { four: 4 }],
      'plain string',
      '',
      0,
      -0.5,
      true,
      false,
      null,
      { '': 'empty key', 'k\u0000': 'nul' },
    ]
    for (const value of values) expect(roundTrip(jsonSerializer, value)).toEqual(value)
  })

  it('writes a tagged Uint8Array and turns Dates into ISO strings, class instances into plain objects', () => {
    const bytes = jsonSerializer.serialize({ at: new Date(0) })
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect(bytes[0]).toBe(JSON_FORMAT_TAG)
    expect(jsonSerializer.deserialize(bytes)).toEqual({ at: '1970-01-01T00:00:00.000Z' })
    class User {
      constructor(readonly id: number) {}
    }
    expect(roundTrip(jsonSerializer, new User(1))).toEqual({ id: 1 })
    // A missing optional property reads back as missing: faithful enough for `undefined`.
    expect(roundTrip(jsonSerializer, { a: 1, b: undefined })).toEqual({ a: 1 })
  })

  it('throws SerializeError for what JSON cannot represent faithfully', () => {
    const unfaithful: unknown[] = [
      undefined,
      () => 1,
      { f: () => 1 },
      Symbol('s'),
      { s: Symbol('s') },
      10n,
      { n: 10n },
      cyclic(),
      [1, undefined, 3],
      Number.NaN,
      { x: Number.POSITIVE_INFINITY },
      new Map([[1, 2]]),
      { set: new Set([1]) },
      /re/,
      new Error('boom'),
      new Uint8Array([1, 2]),
      { buffer: Buffer.from('hi') },
      new ArrayBuffer(4),
    ]
    for (const value of unfaithful) {
      expect(() => jsonSerializer.serialize(value), String(typeof value)).toThrow(SerializeError)
    }
  })

  it('judges values past the fast check the same way, however deep the problem sits', () => {
    const nest = (depth: number, leaf: unknown): unknown =>
      depth === 0 ? leaf : { d: [nest(depth - 1, leaf)] }
    // Plain data deeper than the fast check still serializes (through the replacer's path).
    expect(roundTrip(jsonSerializer, nest(40, 'leaf'))).toEqual(nest(40, 'leaf'))
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: [true] })
    expect(roundTrip(jsonSerializer, nullProto)).toEqual({ a: 1, b: [true] })
    expect(roundTrip(jsonSerializer, { at: new Date(Number.NaN) })).toEqual({ at: null })
    expect(roundTrip(jsonSerializer, { v: { toJSON: () => ({ ok: 1 }) } })).toEqual({ v: { ok: 1 } })
    const holey: unknown[] = [1]
    holey[2] = 3 // a hole at index 1
    for (const leaf of [
      Number.NaN,
      () => 1,
      new Map(),
      Buffer.from('x'),
      { toJSON: () => Number.NaN },
      holey,
    ]) {
      for (const depth of [1, 5, 40]) {
        expect(() => jsonSerializer.serialize(nest(depth, leaf)), `${String(leaf)} at ${depth}`).toThrow(
          SerializeError,
        )
      }
    }
  })

  it('throws ItemCorruptError on bytes it did not write', () => {
    const foreign = [
      new Uint8Array(0),
      Uint8Array.from([JSON_FORMAT_TAG]),
      new TextEncoder().encode('{"a":1}'), // untagged JSON
      v8Serializer.serialize({ a: 1 }),
      Uint8Array.from([JSON_FORMAT_TAG, 0x7b, 0x22]), // truncated JSON
      Uint8Array.from([JSON_FORMAT_TAG, 0x22, 0xc3, 0x28, 0x22]), // invalid UTF-8 in a string
    ]
    for (const bytes of foreign) expect(() => jsonSerializer.deserialize(bytes)).toThrow(ItemCorruptError)
  })
})

describe('v8Serializer', () => {
  it('round-trips structured-clone types', () => {
    const value = {
      date: new Date(1_700_000_000_000),
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, { b: true }],
      ]),
      set: new Set([1, 'two']),
      big: 2n ** 70n,
      floats: new Float64Array([1.5, -2]),
      ints: new Int32Array([1, -1]),
      bytes: new Uint8Array([0, 255]),
      regex: /x+/gi,
      missing: undefined,
      nan: Number.NaN,
      list: [1, undefined, 3],
    }
    const back = roundTrip(v8Serializer, value) as typeof value
    expect(back).toEqual(value)
    expect(back.date).toBeInstanceOf(Date)
    expect(back.map).toBeInstanceOf(Map)
    expect(back.set).toBeInstanceOf(Set)
    expect(back.floats).toBeInstanceOf(Float64Array)
    expect(typeof back.big).toBe('bigint')
  })

  it('keeps cycles', () => {
    const back = roundTrip(v8Serializer, cyclic()) as { self: unknown; name: string }
    expect(back.self).toBe(back)
    expect(back.name).toBe('loop')
  })

  it('writes a tagged Uint8Array and throws SerializeError for functions and symbols', () => {
    const bytes = v8Serializer.serialize(1)
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect(bytes[0]).toBe(V8_FORMAT_TAG)
    for (const value of [() => 1, { f: () => 1 }, Symbol('s'), { s: Symbol('s') }]) {
      expect(() => v8Serializer.serialize(value)).toThrow(SerializeError)
    }
  })

  it('throws ItemCorruptError on bytes it did not write', () => {
    const valid = v8Serializer.serialize(new Map([['key', 'value'.repeat(10)]]))
    const foreign = [
      new Uint8Array(0),
      jsonSerializer.serialize({ a: 1 }),
      Uint8Array.from([V8_FORMAT_TAG, 0x00, 0x01]), // bad v8 header
      valid.subarray(1), // untagged v8 bytes
      valid.subarray(0, valid.length - 5), // truncated
    ]
    for (const bytes of foreign) expect(() => v8Serializer.deserialize(bytes)).toThrow(ItemCorruptError)
  })

  it('returns values that share no memory with the bytes read (they may be a network buffer)', () => {
    const bytes = v8Serializer.serialize({
      blob: Buffer.from('sixteen bytes!!!'),
      list: new Uint16Array([1, 2]),
    })
    // As a client hands them over: a view on a larger read buffer.
    const chunk = new Uint8Array(bytes.length + 4096)
    chunk.set(bytes, 100)
    const view = chunk.subarray(100, 100 + bytes.length)
    const back = v8Serializer.deserialize(view) as { blob: Buffer; list: Uint16Array }
    expect(back.blob.buffer).not.toBe(chunk.buffer)
    expect(back.list.buffer).not.toBe(chunk.buffer)
    expect(back.blob.buffer.byteLength).toBeLessThan(chunk.length)
    chunk.fill(0)
    expect(back.blob.toString()).toBe('sixteen bytes!!!')
    expect([...back.list]).toEqual([1, 2])
  })
})

describe('transient bytes (every handle copies them)', () => {
  const value = { id: 7, name: 'Zoë 🚀', tags: ['a', 'b'], big: 'x'.repeat(200) }

  for (const serializer of [jsonSerializer, v8Serializer]) {
    it(`${serializer.name}: a slice of the shared pool when transient, a backing store of its own otherwise`, () => {
      const kept = serializer.serialize(value)
      expect(kept.byteOffset).toBe(0)
      expect(kept.buffer.byteLength).toBe(kept.byteLength)
      const transient = serializer.serialize(value, true)
      // Buffer.allocUnsafe's small buffers are slices of one larger pool.
      expect(transient.buffer.byteLength).toBeGreaterThan(transient.byteLength)
      expect(Buffer.from(transient).equals(Buffer.from(kept))).toBe(true)
      expect(serializer.deserialize(transient)).toEqual(value)
    })
  }
})
