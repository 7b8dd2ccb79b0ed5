/**
 * The stored envelope: one blob per item for stores that keep nothing but bytes
 * (Memcached, custom handles). Fixed-width little-endian header, then the value bytes:
 *
 *   magic 'C' 'E' | format version u8 | mode u8 (0 none, 1 absolute, 2 sliding)
 *   | ttl f64 | expiresAt f64 | created f64 | version f64 | value bytes...
 *
 * An item with grace is written as format 2, whose header has one more field before the
 * value: `| grace f64 |` (44 bytes). Items without grace stay format 1, byte for byte, so
 * stores and readers that never see grace are unaffected.
 *
 * Times are f64 milliseconds (exact for integers up to 2^53). Anything malformed reads
 * as `ItemCorruptError`, which core treats as a miss.
 */
import type { ExpirationMode, ItemInput, StoredItem } from './contracts/cache-handle.js'
import { InvalidValueError, ItemCorruptError } from './errors.js'

/** Format version written into every envelope without grace; decoders reject any other but {@link ENVELOPE_GRACE_VERSION}. */
export const ENVELOPE_VERSION = 1
/** Bytes before the value. */
export const ENVELOPE_HEADER_BYTES = 36
/** Format version of an envelope with grace (a header of {@link ENVELOPE_GRACE_HEADER_BYTES}). */
export const ENVELOPE_GRACE_VERSION = 2
/** Bytes before the value in a format-2 envelope (the grace f64 at offset 36). */
export const ENVELOPE_GRACE_HEADER_BYTES = 44

const MAGIC_0 = 0x43 // 'C'
const MAGIC_1 = 0x45 // 'E'
/** The mode byte of the header (offset 3) for each expiration mode; scripts that patch headers in place use it too. */
export const ENVELOPE_MODE_CODES: Readonly<Record<ExpirationMode, number>> = Object.freeze({
  none: 0,
  absolute: 1,
  sliding: 2,
})
const MODES: readonly ExpirationMode[] = ['none', 'absolute', 'sliding']

function newBytes(size: number): Uint8Array {
  return new Uint8Array(size)
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1
}

/**
 * Encodes an item and its metadata into one blob; throws `InvalidValueError` for malformed input.
 * `allocate` gives the blob's memory: a store that only sends the blob and drops it may pass
 * `Buffer.allocUnsafe`, whose small buffers are slices of a shared pool instead of a backing
 * store of their own per write (never for a blob that is kept: a slice holds its whole pool).
 */
export function encodeEnvelope(
  item: ItemInput<Uint8Array> & { version: number },
  allocate: (size: number) => Uint8Array = newBytes,
): Uint8Array {
  const { value, mode, ttl, expiresAt, created, version } = item
  const grace = item.grace ?? 0
  if (!(value instanceof Uint8Array)) throw new InvalidValueError('envelope value must be a Uint8Array')
  if (!Object.hasOwn(ENVELOPE_MODE_CODES, mode))
    throw new InvalidValueError(`envelope: unknown expiration mode ${String(mode)}`)
  if (!isTime(ttl) || !isTime(expiresAt) || !isTime(created)) {
    throw new InvalidValueError('envelope: ttl, expiresAt and created must be finite non-negative numbers')
  }
  if (!isVersion(version)) throw new InvalidValueError('envelope: version must be a positive safe integer')
  if (!isTime(grace)) throw new InvalidValueError('envelope: grace must be a finite non-negative number')
  const header = grace === 0 ? ENVELOPE_HEADER_BYTES : ENVELOPE_GRACE_HEADER_BYTES
  const bytes = allocate(header + value.length)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  bytes[0] = MAGIC_0
  bytes[1] = MAGIC_1
  bytes[2] = grace === 0 ? ENVELOPE_VERSION : ENVELOPE_GRACE_VERSION
  bytes[3] = ENVELOPE_MODE_CODES[mode]
  view.setFloat64(4, ttl, true)
  view.setFloat64(12, expiresAt, true)
  view.setFloat64(20, created, true)
  view.setFloat64(28, version, true)
  if (grace !== 0) view.setFloat64(36, grace, true)
  bytes.set(value, header)
  return bytes
}

/**
 * Decodes a blob written by {@link encodeEnvelope}. The returned value shares memory
 * with `bytes`. Throws `ItemCorruptError` for anything malformed.
 */
export function decodeEnvelope(bytes: Uint8Array): StoredItem<Uint8Array> {
  if (!(bytes instanceof Uint8Array)) throw new ItemCorruptError('envelope is not a Uint8Array')
  if (bytes.length < ENVELOPE_HEADER_BYTES)
    throw new ItemCorruptError(`envelope is truncated (${bytes.length} bytes)`)
  if (bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1)
    throw new ItemCorruptError('not a cacheplane envelope (bad magic)')
  const format = bytes[2]
  if (format !== ENVELOPE_VERSION && format !== ENVELOPE_GRACE_VERSION)
    throw new ItemCorruptError(`unsupported envelope version ${format}`)
  const header = format === ENVELOPE_VERSION ? ENVELOPE_HEADER_BYTES : ENVELOPE_GRACE_HEADER_BYTES
  if (bytes.length < header) throw new ItemCorruptError(`envelope is truncated (${bytes.length} bytes)`)
  const mode = MODES[bytes[3]!]
  if (mode === undefined) throw new ItemCorruptError(`unknown expiration mode code ${bytes[3]}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const ttl = view.getFloat64(4, true)
  const expiresAt = view.getFloat64(12, true)
  const created = view.getFloat64(20, true)
  const version = view.getFloat64(28, true)
  if (!isTime(ttl) || !isTime(expiresAt) || !isTime(created) || !isVersion(version)) {
    throw new ItemCorruptError('envelope metadata is out of range')
  }
  const grace = header === ENVELOPE_HEADER_BYTES ? 0 : view.getFloat64(36, true)
  if (!isTime(grace)) throw new ItemCorruptError('envelope grace is out of range')
  // A plain Uint8Array view, not `subarray`: on a Buffer (what network clients return)
  // `subarray` would build another Buffer, and the value is a Uint8Array whatever came in.
  const value = new Uint8Array(bytes.buffer, bytes.byteOffset + header, bytes.byteLength - header)
  // Items without grace keep the format-1 shape (no `grace` field).
  if (grace === 0) return { value, mode, ttl, expiresAt, created, version }
  return { value, mode, ttl, expiresAt, created, version, grace }
}
