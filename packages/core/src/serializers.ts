/**
 * The serializers core ships. Each prefixes its bytes with a one-byte format tag, so
 * bytes written by another serializer (or by something else entirely) are detected
 * and rejected instead of being misread as a value.
 *
 * Both throw typed errors: `SerializeError` for a value they cannot represent
 * faithfully (nothing is written), `ItemCorruptError` for bytes they did not write.
 */
import { deserialize as v8Deserialize, serialize as v8Serialize } from 'node:v8'
import type { Serializer } from './contracts/serializer.js'
import { ItemCorruptError, SerializeError } from './errors.js'

/** Format tag of {@link jsonSerializer}'s bytes: `J`. */
export const JSON_FORMAT_TAG = 0x4a
/** Format tag of {@link v8Serializer}'s bytes: `V`. */
export const V8_FORMAT_TAG = 0x56

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function lossyBuiltin(value: object): string | undefined {
  if (value instanceof Map) return 'a Map'
  if (value instanceof Set) return 'a Set'
  if (value instanceof WeakMap || value instanceof WeakSet) return 'a weak collection'
  if (value instanceof RegExp) return 'a RegExp'
  if (value instanceof Error) return 'an Error'
  if (value instanceof Promise) return 'a Promise'
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return 'binary data'
  if (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) return 'binary data'
  return undefined
}

// JSON.stringify silently drops or mangles what it cannot represent; this replacer
// turns each such case into an error so a cached value always reads back as written.
function faithful(this: unknown, key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'function':
    case 'symbol':
      throw new TypeError(`${typeof value} at ${describeKey(key)} cannot be represented in JSON`)
    case 'bigint':
      throw new TypeError(`BigInt at ${describeKey(key)} cannot be represented in JSON`)
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`${value} at ${describeKey(key)} would become null in JSON`)
      return value
    case 'undefined':
      // A missing object property reads back as undefined anyway; an array slot would become null.
      if (key === '' || Array.isArray(this))
        throw new TypeError(`undefined at ${describeKey(key)} cannot be represented in JSON`)
      return value
    case 'object': {
      if (value === null) return value
      // Check what the holder holds, before `toJSON` ran: a Buffer's toJSON hides that it is binary.
      const original = (this as Record<string, unknown>)[key]
      const lossy = lossyBuiltin(typeof original === 'object' && original !== null ? original : value)
      if (lossy !== undefined) {
        throw new TypeError(
          `${lossy} at ${describeKey(key)} cannot be represented in JSON (use v8Serializer)`,
        )
      }
      return value
    }
    default:
      return value
  }
}

/** Nesting past which the fast check gives the value to the replacer (which also reports cycles). */
const MAX_FAST_DEPTH = 32

/**
 * True when plain `JSON.stringify` writes exactly what the {@link faithful} replacer would let
 * through: strings, booleans, finite numbers, null, arrays without holes or `undefined`, and
 * plain objects (or Dates) of those. Conservative: anything else (class instances, `toJSON`,
 * Maps, deep or cyclic graphs) returns false and takes the replacer's path, which reports
 * what cannot be represented. A replacer costs a call from V8's serializer into JavaScript
 * per key and turns off its fast path: measured on the bench's small objects, 1.1 us per
 * value against 0.6 us for this walk and a plain stringify.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object':
      return value === null || (depth < MAX_FAST_DEPTH && isPlainContainer(value, depth + 1))
    default:
      return false
  }
}

function isPlainContainer(value: object, depth: number): boolean {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i]
      if (element === undefined || !isPlainJson(element, depth)) return false
    }
    return true
  }
  const proto: unknown = Object.getPrototypeOf(value)
  // A Date's toJSON writes its ISO string (null when invalid), as on the replacer's path.
  if (proto === Date.prototype) return true
  if (proto !== Object.prototype && proto !== null) return false
  const record = value as Record<string, unknown>
  if (typeof record.toJSON === 'function') return false
  for (const key in record) {
    const property = record[key]
    // An undefined property is left out by both paths.
    if (property !== undefined && !isPlainJson(property, depth)) return false
  }
  return true
}

function describeKey(key: string): string {
  return key === '' ? 'the top level' : `key ${JSON.stringify(key)}`
}

/**
 * The array a serializer writes into. Transient bytes (copied by every handle they reach)
 * are a slice of Node's buffer pool: a backing store of their own, allocated and freed per
 * write, cost about as much as `JSON.stringify` of a small object. Bytes a handle keeps get
 * their own, or the slice would keep its whole pool alive.
 */
function allocateBytes(size: number, transient: boolean | undefined): Uint8Array {
  return transient === true ? Buffer.allocUnsafe(size) : new Uint8Array(size)
}

/**
 * JSON (the default): readable bytes, portable across languages apart from the tag byte.
 * Faithful only for JSON data: objects, arrays, strings, finite numbers, booleans, null.
 * Dates become ISO strings (their `toJSON`), class instances plain objects. Throws for
 * functions, symbols, BigInt, cycles, non-finite numbers, `undefined` at the top level or
 * in an array, and Maps, Sets, RegExps, Errors and binary data.
 */
export const jsonSerializer: Serializer = {
  name: 'json',
  serialize(value: unknown, transient?: boolean): Uint8Array {
    let text: string | undefined
    try {
      text = isPlainJson(value, 0) ? JSON.stringify(value) : JSON.stringify(value, faithful)
    } catch (error) {
      throw new SerializeError(`value cannot be serialized as JSON: ${(error as Error).message}`, {
        cause: error,
      })
    }
    if (text === undefined) throw new SerializeError('value cannot be serialized as JSON')
    // Encoded straight behind the tag: one buffer per write, not an encoded copy and a
    // tagged copy of it (each above 64 bytes is a separate backing store for the GC to free).
    const bytes = allocateBytes(Buffer.byteLength(text) + 1, transient)
    bytes[0] = JSON_FORMAT_TAG
    utf8Encoder.encodeInto(text, bytes.subarray(1))
    return bytes
  },
  deserialize(bytes: Uint8Array): unknown {
    if (!(bytes instanceof Uint8Array) || bytes.length < 2 || bytes[0] !== JSON_FORMAT_TAG) {
      throw new ItemCorruptError('bytes were not written by the JSON serializer')
    }
    try {
      return JSON.parse(utf8Decoder.decode(bytes.subarray(1)))
    } catch (error) {
      throw new ItemCorruptError('bytes are not valid JSON', { cause: error })
    }
  },
}

/**
 * `node:v8` structured clone: Dates, Maps, Sets, BigInt, typed arrays, RegExps, nested
 * `undefined` and cycles survive. Class instances come back as plain objects; functions
 * and symbols throw. The bytes are only readable by Node.
 */
export const v8Serializer: Serializer = {
  name: 'v8',
  serialize(value: unknown, transient?: boolean): Uint8Array {
    let body: Buffer
    try {
      body = v8Serialize(value)
    } catch (error) {
      throw new SerializeError(`value cannot be serialized with node:v8: ${(error as Error).message}`, {
        cause: error,
      })
    }
    const bytes = allocateBytes(body.length + 1, transient)
    bytes[0] = V8_FORMAT_TAG
    bytes.set(body, 1)
    return bytes
  },
  deserialize(bytes: Uint8Array): unknown {
    // v8's own header starts with 0xFF; checking it too keeps foreign bytes out of the parser.
    if (
      !(bytes instanceof Uint8Array) ||
      bytes.length < 3 ||
      bytes[0] !== V8_FORMAT_TAG ||
      bytes[1] !== 0xff
    ) {
      throw new ItemCorruptError('bytes were not written by the v8 serializer')
    }
    // A copy: v8 returns Buffers and typed arrays as views into its input, and `bytes` may be
    // a view on a network client's read buffer, which a cached value must not keep alive.
    const body = new Uint8Array(bytes.length - 1)
    body.set(bytes.subarray(1))
    try {
      return v8Deserialize(body)
    } catch (error) {
      throw new ItemCorruptError('bytes are not a valid node:v8 serialization', { cause: error })
    }
  },
}
