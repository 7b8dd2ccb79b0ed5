/**
 * The Memcached binary-protocol commands this package needs and memjs's high-level API
 * lacks (CAS tokens on reads, CAS on writes and deletes, 64-bit incr with an initial
 * value). Requests are built with memjs's own request encoder and sent with its
 * `perform`, so server selection, sequence numbers, timeouts and reconnects stay memjs's.
 */

import type { Client as MemjsClient, Response } from 'memjs'
import { Utils } from 'memjs'

/** Any memjs client: only its transport (`perform`, `incrSeq`, `seq`) is used, never its (de)serializer. */
export type Client = MemjsClient<unknown, unknown>

/** A client and the deadline the handle puts on each of its requests. */
export interface Connection {
  readonly client: Client
  /** A request not settled after this many ms fails (memjs may never settle it). */
  readonly deadlineMs: number
}

/** A request that did not settle within the handle's deadline. */
export class MemcachedTimeoutError extends Error {
  constructor(command: string, key: string, deadlineMs: number) {
    super(`memcached ${command} '${key}' did not answer within ${deadlineMs} ms`)
    this.name = 'MemcachedTimeoutError'
  }
}

const commandNames: Record<number, string> = {
  0: 'get',
  1: 'set',
  2: 'add',
  4: 'delete',
  5: 'incr',
  28: 'touch',
}

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

function send(
  { client, deadlineMs }: Connection,
  code: number,
  key: string,
  extras: Buffer,
  value: Buffer,
  cas?: CasToken,
): Promise<Response> {
  client.incrSeq()
  const seq = client.seq
  const buffer = Utils.makeRequestBuffer(code, key, extras, value, seq)
  // memjs's encoder has no CAS field; the header keeps it at bytes 16..23.
  if (cas !== undefined) cas.copy(buffer, 16)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new MemcachedTimeoutError(commandNames[code] ?? `0x${code.toString(16)}`, key, deadlineMs))
    }, deadlineMs)
    // memjs pins the callbacks of one request to the sequence number in its header.
    client.perform(key, buffer, seq, (error: Error | string | null, response: Response) => {
      clearTimeout(timer)
      if (error !== null && error !== undefined) {
        // memjs reports some failures (SASL) as bare strings.
        reject(typeof error === 'string' ? new Error(`memcached: ${error}`) : error)
      } else resolve(response)
    })
  })
}

function expirationExtras(exptime: number): Buffer {
  const extras = Buffer.alloc(4)
  extras.writeUInt32BE(exptime, 0)
  return extras
}

const empty = Buffer.alloc(0)

/** GET: the bytes and CAS token, or undefined when the key is absent. */
export async function getWithCas(connection: Connection, key: string): Promise<CasValue | undefined> {
  const response = await send(connection, opcode.get, key, empty, empty)
  const code = response.header.status
  if (code === status.ok) return { value: response.val, cas: response.header.cas }
  if (code === status.notFound) return undefined
  throw new MemcachedStatusError('get', key, code)
}

/**
 * SET (optionally only if the CAS token still matches) or ADD. `exptime` is Memcached's
 * expiration field (0 = never, seconds, or an absolute Unix time past 30 days).
 */
export async function store(
  connection: Connection,
  mode: 'set' | 'add',
  key: string,
  value: Uint8Array,
  exptime: number,
  cas?: CasToken,
): Promise<StoreResult> {
  // flags (4 bytes, unused) + expiration (4 bytes)
  const extras = Buffer.alloc(8)
  extras.writeUInt32BE(exptime, 4)
  const body = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  const response = await send(connection, opcode[mode], key, extras, body, cas)
  const code = response.header.status
  if (code === status.ok) return 'stored'
  if (code === status.exists || code === status.notStored) return 'exists'
  if (code === status.notFound) return 'missing'
  throw new MemcachedStatusError(mode, key, code)
}

/** DELETE (optionally only if the CAS token still matches). True when something was deleted. */
export async function remove(connection: Connection, key: string, cas?: CasToken): Promise<boolean> {
  const response = await send(connection, opcode.delete, key, empty, empty, cas)
  const code = response.header.status
  if (code === status.ok) return true
  if (code === status.notFound || code === status.exists) return false
  throw new MemcachedStatusError('delete', key, code)
}

/** TOUCH: sets a new expiration on an existing key. True when the key exists. */
export async function touch(connection: Connection, key: string, exptime: number): Promise<boolean> {
  const response = await send(connection, opcode.touch, key, expirationExtras(exptime), empty)
  const code = response.header.status
  if (code === status.ok) return true
  if (code === status.notFound) return false
  throw new MemcachedStatusError('touch', key, code)
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
  const extras = Buffer.alloc(20)
  extras.writeBigUInt64BE(BigInt(delta), 0)
  extras.writeBigUInt64BE(BigInt(initial), 8)
  extras.writeUInt32BE(0, 16)
  // Memcached creates an absent counter with an internal `add`. When two clients incr the same
  // absent key at once, the loser's add fails and the server answers NOT_STORED although the
  // counter now exists; sending the incr again then finds it. Any other status is final.
  for (let attempt = 1; ; attempt++) {
    const response = await send(connection, opcode.increment, key, extras, empty)
    const code = response.header.status
    if (code === status.ok) return Number(response.val.readBigUInt64BE(0))
    if (code !== status.notStored || attempt === maxIncrementAttempts) {
      throw new MemcachedStatusError('incr', key, code)
    }
  }
}

/** NOT_STORED from incr is the create race above; one resend settles it, three is generous. */
const maxIncrementAttempts = 3
