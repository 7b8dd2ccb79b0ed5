/**
 * The Memcached binary-protocol commands this package needs and memjs's high-level API
 * lacks (CAS tokens on reads, CAS on writes and deletes, 64-bit incr with an initial
 * value). Requests are encoded here into one buffer each (header, extras, key, value)
 * and sent through memjs's transport (see connection.ts); memjs parses the replies.
 */

import type { Response } from 'memjs'
import type { Connection } from './connection.js'

/** Binary-protocol opcodes used here. */
const opcode = {
  get: 0x00,
  set: 0x01,
  add: 0x02,
  delete: 0x04,
  increment: 0x05,
  touch: 0x1c,
} as const

/** Binary-protocol response statuses. */
const status = {
  ok: 0x00,
  notFound: 0x01,
  exists: 0x02,
  tooLarge: 0x03,
  notStored: 0x05,
} as const

const statusNames: Record<number, string> = {
  1: 'key not found',
  2: 'key exists',
  3: 'value too large',
  4: 'invalid arguments',
  5: 'item not stored',
  6: 'incr/decr on a non-numeric value',
  32: 'authentication error',
  129: 'unknown command',
  130: 'out of memory',
  134: 'temporary failure',
}

/** A Memcached response status this package does not expect (the raw error core wraps). */
export class MemcachedStatusError extends Error {
  /** The binary-protocol status code. */
  readonly status: number

  constructor(command: string, key: string, code: number) {
    super(`memcached ${command} '${key}' failed: ${statusNames[code] ?? 'status'} (0x${code.toString(16)})`)
    this.name = 'MemcachedStatusError'
    this.status = code
  }
}

/** True when the error is the server refusing an item as too large. */
export function isTooLarge(error: unknown): boolean {
  return error instanceof MemcachedStatusError && error.status === status.tooLarge
}

/** An 8-byte opaque CAS token as the server returned it. */
export type CasToken = Buffer

/** A value read with its CAS token. */
export interface CasValue {
  /** The stored bytes. */
  readonly value: Buffer
  /** Token for a later compare-and-set. */
  readonly cas: CasToken
}

/** Result of a conditional write. */
export type StoreResult = 'stored' | 'exists' | 'missing'

const headerBytes = 24
const requestMagic = 0x80

/**
 * One request in one buffer: header, then `extrasLength` bytes the caller fills at offset
 * 24, the key, the value. memjs's `makeRequestBuffer` allocates a zero-filled buffer per
 * part (key, extras, value, header) and copies them together, a visible share of a read's
 * CPU in profiles; this writes each byte once into one buffer (`allocUnsafe`: small ones
 * come from Node's pool). The socket gets the buffer and nothing writes to it again.
 */
export function encodeRequest(
  code: number,
  key: string,
  extrasLength: number,
  value: Uint8Array | undefined,
  opaque: number,
  cas: CasToken | undefined,
): Buffer {
  const keyLength = Buffer.byteLength(key)
  const valueLength = value === undefined ? 0 : value.byteLength
  const bodyLength = extrasLength + keyLength + valueLength
  const buffer = Buffer.allocUnsafe(headerBytes + bodyLength)
  buffer[0] = requestMagic
  buffer[1] = code
  buffer.writeUInt16BE(keyLength, 2)
  buffer[4] = extrasLength
  // data type (1 byte) and vbucket (2 bytes)
  buffer[5] = 0
  buffer.writeUInt16BE(0, 6)
  buffer.writeUInt32BE(bodyLength, 8)
  buffer.writeUInt32BE(opaque, 12)
  if (cas === undefined) buffer.fill(0, 16, headerBytes)
  else buffer.set(cas, 16)
  buffer.write(key, headerBytes + extrasLength, keyLength, 'utf8')
  if (value !== undefined) buffer.set(value, headerBytes + extrasLength + keyLength)
  return buffer
}

function readGet(response: Response, key: string): CasValue | undefined {
  const code = response.header.status
  // `val` is a view into memjs's reply buffer, which memjs never writes again (each socket
  // chunk is appended into a fresh buffer), so it is kept without a copy.
  if (code === status.ok) return { value: response.val, cas: response.header.cas }
  if (code === status.notFound) return undefined
  throw new MemcachedStatusError('get', key, code)
}

/** GET: the bytes and CAS token, or undefined when the key is absent. */
export function getWithCas(connection: Connection, key: string): Promise<CasValue | undefined> {
  const opaque = connection.nextOpaque()
  const buffer = encodeRequest(opcode.get, key, 0, undefined, opaque, undefined)
  return connection.send('get', key, buffer, opaque, readGet)
}

function readStore(response: Response, key: string): StoreResult {
  const code = response.header.status
  if (code === status.ok) return 'stored'
  if (code === status.exists || code === status.notStored) return 'exists'
  if (code === status.notFound) return 'missing'
  throw new MemcachedStatusError(response.header.opcode === opcode.add ? 'add' : 'set', key, code)
}

/**
 * SET (optionally only if the CAS token still matches) or ADD. `exptime` is Memcached's
 * expiration field (0 = never, seconds, or an absolute Unix time past 30 days).
 */
export function store(
  connection: Connection,
  mode: 'set' | 'add',
  key: string,
  value: Uint8Array,
  exptime: number,
  cas?: CasToken,
): Promise<StoreResult> {
  const opaque = connection.nextOpaque()
  // extras: flags (4 bytes, unused) + expiration (4 bytes)
  const buffer = encodeRequest(opcode[mode], key, 8, value, opaque, cas)
  buffer.writeUInt32BE(0, headerBytes)
  buffer.writeUInt32BE(exptime, headerBytes + 4)
  return connection.send(mode, key, buffer, opaque, readStore)
}

function readRemove(response: Response, key: string): boolean {
  const code = response.header.status
  if (code === status.ok) return true
  if (code === status.notFound || code === status.exists) return false
  throw new MemcachedStatusError('delete', key, code)
}

/** DELETE (optionally only if the CAS token still matches). True when something was deleted. */
export function remove(connection: Connection, key: string, cas?: CasToken): Promise<boolean> {
  const opaque = connection.nextOpaque()
  const buffer = encodeRequest(opcode.delete, key, 0, undefined, opaque, cas)
  return connection.send('delete', key, buffer, opaque, readRemove)
}

function readTouch(response: Response, key: string): boolean {
  const code = response.header.status
  if (code === status.ok) return true
  if (code === status.notFound) return false
  throw new MemcachedStatusError('touch', key, code)
}

/** TOUCH: sets a new expiration on an existing key. True when the key exists. */
export function touch(connection: Connection, key: string, exptime: number): Promise<boolean> {
  const opaque = connection.nextOpaque()
  const buffer = encodeRequest(opcode.touch, key, 4, undefined, opaque, undefined)
  buffer.writeUInt32BE(exptime, headerBytes)
  return connection.send('touch', key, buffer, opaque, readTouch)
}

/** The new counter value, or undefined for NOT_STORED (the create race, see `increment`). */
function readIncrement(response: Response, key: string): number | undefined {
  const code = response.header.status
  if (code === status.ok) return Number(response.val.readBigUInt64BE(0))
  if (code === status.notStored) return undefined
  throw new MemcachedStatusError('incr', key, code)
}

/**
 * INCR by `delta` (0 reads), creating the counter with `initial` and no expiry when it is
 * absent — one atomic round trip. Counters are 64-bit; values stay below 2^53 here.
 */
export async function increment(
  connection: Connection,
  key: string,
  delta: number,
  initial: number,
): Promise<number> {
  // Memcached creates an absent counter with an internal `add`. When two clients incr the same
  // absent key at once, the loser's add fails and the server answers NOT_STORED although the
  // counter now exists; sending the incr again then finds it. Any other status is final.
  for (let attempt = 1; ; attempt++) {
    const opaque = connection.nextOpaque()
    // extras: delta (8 bytes), initial (8 bytes), expiration (4 bytes, 0 = never)
    const buffer = encodeRequest(opcode.increment, key, 20, undefined, opaque, undefined)
    buffer.writeBigUInt64BE(BigInt(delta), headerBytes)
    buffer.writeBigUInt64BE(BigInt(initial), headerBytes + 8)
    buffer.writeUInt32BE(0, headerBytes + 16)
    const value = await connection.send('incr', key, buffer, opaque, readIncrement)
    if (value !== undefined) return value
    if (attempt === maxIncrementAttempts) throw new MemcachedStatusError('incr', key, status.notStored)
  }
}

/** NOT_STORED from incr is the create race above; one resend settles it, three is generous. */
const maxIncrementAttempts = 3
