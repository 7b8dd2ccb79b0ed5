/**
 * The backplane frame: a versioned little-endian binary envelope for a batch of
 * key-only messages.
 *
 *   magic 'C' 'P' | version u8 | flags u8 (bit 0 = signed, bit 1 = timestamped)
 *   | sender id 16 raw bytes | [send time f64 ms since the epoch when timestamped]
 *   | message count varint | messages... | [HMAC-SHA256 32 bytes when signed]
 *
 * A message is a type byte (1 changed, 2 removed, 3 cleared, 4 regionCleared); `changed`
 * adds a change byte (1 add, 2 set, 3 update, 4 expire); keyed messages (changed, removed)
 * carry a region presence byte (0/1), the region when present and the key; `regionCleared`
 * carries its region; `tagInvalidated` (type 5, added with tags: a decoder from before it
 * rejects such a frame as an unknown type) carries the tag and its new stamp as an f64
 * (negative when the invalidator's write of it failed: see `messages.ts`).
 * Strings are a varint byte length plus UTF-8.
 *
 * Frames arrive from a shared pub/sub server, so decoding treats every byte as hostile:
 * every length is checked against what remains, nothing is allocated from an untrusted
 * length, and the only errors that ever leave `decodeFrame` are `FrameInvalidError` and
 * `FrameSignatureError`. The signature covers every byte before it and is checked before
 * the body is parsed, so with a secret a forged frame never reaches the parser.
 *
 * The send time (added after version 1 shipped in the repository, so it is a flag, not a
 * new version) lets a receiver measure propagation latency. Frames without it still decode;
 * a decoder from before the flag rejects timestamped frames (unknown flags), which only
 * matters for a cluster mixing those builds. The time is the sender's wall clock: across
 * hosts the latency includes their clock offset.
 */
import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto'
import { FrameInvalidError, FrameSignatureError } from '../errors.js'
import type { BackplaneMessage, ChangeKind, DecodedFrame } from './messages.js'
import { varintSize, writeVarint } from '../varint.js'

/** Version written into every frame; decoders reject any other. */
export const FRAME_VERSION = 1
/** Largest frame encoded or accepted when no limit is given: 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024
/** Bytes of the HMAC-SHA256 signature trailing a signed frame. */
export const FRAME_SIGNATURE_BYTES = 32
/** Fixed header bytes: magic, version, flags, sender id (the message count varint follows). */
export const FRAME_HEADER_BYTES = 20

/** Shared secret for signing: a string, raw bytes, or a prepared `node:crypto` secret key. */
export type FrameSecret = string | Uint8Array | KeyObject

/** Options of {@link encodeFrame} and {@link decodeFrame}. */
export interface FrameCodecOptions {
  /** Signs frames (encode) / requires and verifies signatures (decode). */
  readonly secret?: FrameSecret | undefined
  /** Largest frame, bytes; defaults to {@link DEFAULT_MAX_FRAME_BYTES}. */
  readonly maxFrameBytes?: number | undefined
}

const MAGIC_0 = 0x43 // 'C'
const MAGIC_1 = 0x50 // 'P'
const FLAG_SIGNED = 0x01
const FLAG_TIMESTAMPED = 0x02
const KNOWN_FLAGS = FLAG_SIGNED | FLAG_TIMESTAMPED
/** Bytes of the send time a timestamped frame carries after its sender id. */
export const FRAME_TIMESTAMP_BYTES = 8
const SENDER_ID_BYTES = 16
const SENDER_ID_PATTERN = /^[0-9a-f]{32}$/

const TYPE_CHANGED = 1
const TYPE_REMOVED = 2
const TYPE_CLEARED = 3
const TYPE_REGION_CLEARED = 4
const TYPE_TAG_INVALIDATED = 5
/** Bytes of a tag stamp (f64). */
const STAMP_BYTES = 8

const CHANGE_CODES: Record<ChangeKind, number> = { add: 1, set: 2, update: 3, expire: 4 }
const CHANGE_KINDS: readonly (ChangeKind | undefined)[] = [undefined, 'add', 'set', 'update', 'expire']

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const SHORT_STRING_BYTES = 64

function isWellFormed(text: string): boolean {
  // ES2024 String.prototype.isWellFormed (Node >= 20); the project's lib is ES2023.
  return (text as string & { isWellFormed(): boolean }).isWellFormed()
}

function stringSize(text: unknown, what: string): number {
  if (typeof text !== 'string') throw new FrameInvalidError(`cannot encode ${what}: not a string`)
  // Sized once per announced message (see the packer). Keys are mostly short ASCII: a
  // char loop answers for them without the two native calls below.
  const length = text.length
  let i = 0
  while (i < length && text.charCodeAt(i) < 0x80) i++
  if (i === length) return varintSize(length) + length
  // A lone surrogate would be replaced by U+FFFD and name another key on the receiver.
  if (!isWellFormed(text)) throw new FrameInvalidError(`cannot encode ${what}: not well-formed UTF-16`)
  const bytes = Buffer.byteLength(text, 'utf8')
  return varintSize(bytes) + bytes
}

/**
 * Bytes one message takes inside a frame. Throws `FrameInvalidError` for a message that
 * cannot be encoded (unknown type or change, non-string or ill-formed key or region).
 */
export function encodedMessageSize(message: BackplaneMessage): number {
  switch (message.type) {
    case 'changed':
      if (!Object.hasOwn(CHANGE_CODES, message.change)) {
        throw new FrameInvalidError(`cannot encode unknown change kind ${String(message.change)}`)
      }
      return 2 + keyedSize(message.region, message.key)
    case 'removed':
      return 1 + keyedSize(message.region, message.key)
    case 'cleared':
      return 1
    case 'regionCleared':
      return 1 + stringSize(message.region, 'region')
    case 'tagInvalidated':
      if (!Number.isFinite(message.stamp)) throw new FrameInvalidError('cannot encode a non-finite tag stamp')
      return 1 + stringSize(message.tag, 'tag') + STAMP_BYTES
    default:
      throw new FrameInvalidError(
        `cannot encode unknown message type ${String((message as { type: unknown }).type)}`,
      )
  }
}

function keyedSize(region: string | undefined, key: string): number {
  return 1 + (region === undefined ? 0 : stringSize(region, 'region')) + stringSize(key, 'key')
}

/** Bytes a frame of `count` messages adds around the messages themselves. */
export function frameOverheadBytes(count: number, signed: boolean, timestamped = false): number {
  return (
    FRAME_HEADER_BYTES +
    (timestamped ? FRAME_TIMESTAMP_BYTES : 0) +
    varintSize(count) +
    (signed ? FRAME_SIGNATURE_BYTES : 0)
  )
}

function hmac(secret: FrameSecret, bytes: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(bytes).digest()
}

/**
 * Encodes a frame. Throws `FrameInvalidError` when the sender id is not 32 lowercase hex
 * characters, a message cannot be encoded, or the frame would exceed `maxFrameBytes`.
 */
export function encodeFrame(frame: DecodedFrame, options?: FrameCodecOptions): Uint8Array {
  const maxFrameBytes = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  const secret = options?.secret
  const { senderId, messages, sentAt } = frame
  if (sentAt !== undefined && !Number.isFinite(sentAt)) {
    throw new FrameInvalidError('cannot encode frame: the send time must be a finite number')
  }
  if (typeof senderId !== 'string' || !SENDER_ID_PATTERN.test(senderId)) {
    throw new FrameInvalidError('cannot encode frame: sender id must be 32 lowercase hex characters')
  }
  let body = 0
  for (const message of messages) body += encodedMessageSize(message)
  const size = frameOverheadBytes(messages.length, secret !== undefined, sentAt !== undefined) + body
  if (size > maxFrameBytes) {
    throw new FrameInvalidError(`cannot encode frame: ${size} bytes exceed the maximum of ${maxFrameBytes}`)
  }
  return writeFrame(senderIdBytes(senderId), messages, 0, messages.length, body, secret, sentAt)
}

/** The 16 raw bytes of a sender id of 32 lowercase hex characters (validated by the caller). */
export function senderIdBytes(senderId: string): Uint8Array {
  const bytes = new Uint8Array(SENDER_ID_BYTES)
  for (let i = 0; i < SENDER_ID_BYTES; i++) {
    bytes[i] = (hexValue(senderId.charCodeAt(i * 2)) << 4) | hexValue(senderId.charCodeAt(i * 2 + 1))
  }
  return bytes
}

/**
 * Writes a frame of `messages[from..to)` whose encoded sizes add up to `bodyBytes`. The
 * caller vouches for everything `encodeFrame` checks: a valid sender id, messages that
 * can be encoded (sized with {@link encodedMessageSize}), a frame within its limit. The
 * packer sizes each message once when it is announced; sizing it again per frame was a
 * visible part of a busy writer's profile. `sentAt` (finite, ms since the epoch) makes it
 * a timestamped frame.
 */
export function writeFrame(
  senderId: Uint8Array,
  messages: readonly BackplaneMessage[],
  from: number,
  to: number,
  bodyBytes: number,
  secret: FrameSecret | undefined,
  sentAt?: number,
): Uint8Array {
  const count = to - from
  const timestamped = sentAt !== undefined
  // A plain Uint8Array, not a Buffer: callers' `slice()` must copy, as it does for Uint8Array.
  const out = new Uint8Array(frameOverheadBytes(count, secret !== undefined, timestamped) + bodyBytes)
  out[0] = MAGIC_0
  out[1] = MAGIC_1
  out[2] = FRAME_VERSION
  out[3] = (secret === undefined ? 0 : FLAG_SIGNED) | (timestamped ? FLAG_TIMESTAMPED : 0)
  out.set(senderId, 4)
  let pos = FRAME_HEADER_BYTES
  if (timestamped) {
    new DataView(out.buffer, out.byteOffset, out.byteLength).setFloat64(pos, sentAt, true)
    pos += FRAME_TIMESTAMP_BYTES
  }
  pos = writeVarint(out, pos, count)
  for (let i = from; i < to; i++) {
    const message = messages[i]!
    switch (message.type) {
      case 'changed':
        out[pos++] = TYPE_CHANGED
        out[pos++] = CHANGE_CODES[message.change]
        pos = writeKeyed(out, pos, message.region, message.key)
        break
      case 'removed':
        out[pos++] = TYPE_REMOVED
        pos = writeKeyed(out, pos, message.region, message.key)
        break
      case 'cleared':
        out[pos++] = TYPE_CLEARED
        break
      case 'regionCleared':
        out[pos++] = TYPE_REGION_CLEARED
        pos = writeString(out, pos, message.region)
        break
      case 'tagInvalidated':
        out[pos++] = TYPE_TAG_INVALIDATED
        pos = writeString(out, pos, message.tag)
        new DataView(out.buffer, out.byteOffset, out.byteLength).setFloat64(pos, message.stamp, true)
        pos += STAMP_BYTES
        break
    }
  }
  if (secret !== undefined) out.set(hmac(secret, out.subarray(0, pos)), pos)
  return out
}

function hexValue(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57 // '0'-'9', 'a'-'f' (validated by the caller)
}

function writeString(out: Uint8Array, pos: number, text: string): number {
  const chars = text.length
  if (chars < 0x80) {
    // Optimistic: an ASCII string (the common key) has one byte per char and a one-byte
    // length, so it is copied without measuring it first; the first non-ASCII char
    // falls through to the general path, which overwrites what was written.
    let i = 0
    for (; i < chars; i++) {
      const code = text.charCodeAt(i)
      if (code >= 0x80) break
      out[pos + 1 + i] = code
    }
    if (i === chars) {
      out[pos] = chars
      return pos + 1 + chars
    }
  }
  const length = Buffer.byteLength(text, 'utf8')
  pos = writeVarint(out, pos, length)
  if (length === chars) {
    for (let i = 0; i < length; i++) out[pos + i] = text.charCodeAt(i)
    return pos + length
  }
  return pos + utf8Encoder.encodeInto(text, out.subarray(pos, pos + length)).written
}

/**
 * True when `bytes` starts with a frame header (magic, version, known flags, at most
 * `maxFrameBytes`) carrying the sender id `senderId` (16 raw bytes). Reads the header
 * only: a receiver skips its own frames without parsing their messages.
 */
export function isFrameFrom(bytes: Uint8Array, senderId: Uint8Array, maxFrameBytes: number): boolean {
  if (bytes.length < FRAME_HEADER_BYTES + 1 || bytes.length > maxFrameBytes) return false
  if (bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1 || bytes[2] !== FRAME_VERSION) return false
  if ((bytes[3]! & ~KNOWN_FLAGS) !== 0) return false
  for (let i = 0; i < SENDER_ID_BYTES; i++) if (bytes[4 + i] !== senderId[i]) return false
  return true
}

function writeKeyed(out: Uint8Array, pos: number, region: string | undefined, key: string): number {
  if (region === undefined) {
    out[pos++] = 0
  } else {
    out[pos++] = 1
    pos = writeString(out, pos, region)
  }
  return writeString(out, pos, key)
}

/**
 * Decodes and validates a frame. Throws only `FrameInvalidError` (malformed, foreign,
 * too large, unknown version, type or change) and `FrameSignatureError` (a secret is
 * configured and the frame is unsigned or its signature is wrong). Without a secret a
 * signed frame is accepted and its signature ignored: there is nothing to check it against.
 */
export function decodeFrame(bytes: Uint8Array, options?: FrameCodecOptions): DecodedFrame {
  try {
    return decodeUnsafe(bytes, options)
  } catch (error) {
    if (error instanceof FrameInvalidError || error instanceof FrameSignatureError) throw error
    // Safety net: nothing but the two typed errors may leave the decoder.
    throw new FrameInvalidError('malformed frame', { cause: error })
  }
}

function decodeUnsafe(bytes: Uint8Array, options: FrameCodecOptions | undefined): DecodedFrame {
  if (!(bytes instanceof Uint8Array)) throw new FrameInvalidError('frame is not a Uint8Array')
  const maxFrameBytes = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  const secret = options?.secret
  if (bytes.length > maxFrameBytes) {
    throw new FrameInvalidError(`frame of ${bytes.length} bytes exceeds the maximum of ${maxFrameBytes}`)
  }
  if (bytes.length < FRAME_HEADER_BYTES + 1) throw new FrameInvalidError('frame is truncated')
  if (bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1)
    throw new FrameInvalidError('not a cacheplane frame (bad magic)')
  if (bytes[2] !== FRAME_VERSION) throw new FrameInvalidError(`unsupported frame version ${bytes[2]}`)
  const flags = bytes[3]!
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new FrameInvalidError(`unknown frame flags 0x${HEX[flags]}`)
  const signed = (flags & FLAG_SIGNED) !== 0
  const bodyStart = FRAME_HEADER_BYTES + ((flags & FLAG_TIMESTAMPED) !== 0 ? FRAME_TIMESTAMP_BYTES : 0)

  let end = bytes.length
  if (signed) {
    end -= FRAME_SIGNATURE_BYTES
    if (end < bodyStart + 1) throw new FrameInvalidError('signed frame is truncated')
    if (secret !== undefined) {
      const expected = hmac(secret, bytes.subarray(0, end))
      if (!timingSafeEqual(expected, bytes.subarray(end)))
        throw new FrameSignatureError('frame signature is wrong')
    }
  } else if (secret !== undefined) {
    throw new FrameSignatureError('frame is not signed but a secret is configured')
  }

  if (end < bodyStart + 1) throw new FrameInvalidError('frame is truncated')
  let senderId = ''
  for (let i = 4; i < FRAME_HEADER_BYTES; i++) senderId += HEX[bytes[i]!]
  const sentAt = bodyStart === FRAME_HEADER_BYTES ? undefined : readSentAt(bytes)
  const reader = new Reader(bytes, bodyStart, end)
  const count = reader.varint()
  // Every message takes at least one byte: a larger count is a lie, caught before looping.
  if (count > end - reader.pos)
    throw new FrameInvalidError(`frame claims ${count} messages in ${end - reader.pos} bytes`)
  const messages: BackplaneMessage[] = []
  for (let i = 0; i < count; i++) messages.push(reader.message())
  if (reader.pos !== end)
    throw new FrameInvalidError(`${end - reader.pos} trailing bytes after the last message`)
  return sentAt === undefined ? { senderId, messages } : { senderId, messages, sentAt }
}

/** The send time of a timestamped frame (its length was checked); a non-finite one is invalid. */
function readSentAt(bytes: Uint8Array): number {
  const sentAt = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(
    FRAME_HEADER_BYTES,
    true,
  )
  if (!Number.isFinite(sentAt)) throw new FrameInvalidError('frame send time is not a finite number')
  return sentAt
}

/** A bounds-checked cursor over the frame body. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {}

  byte(): number {
    if (this.pos >= this.end) throw new FrameInvalidError('frame is truncated')
    return this.bytes[this.pos++]!
  }

  /** LEB128 up to 2^32 - 1; longer or larger encodings are rejected, not wrapped. */
  varint(): number {
    let value = 0
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte()
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) break
        return value
      }
    }
    throw new FrameInvalidError('varint overflows')
  }

  string(what: string): string {
    const length = this.varint()
    if (length > this.end - this.pos)
      throw new FrameInvalidError(`${what} length ${length} exceeds the frame`)
    const start = this.pos
    this.pos += length
    if (length <= SHORT_STRING_BYTES) {
      // Short ASCII strings (most keys) skip the decoder call and its subarray.
      let text = ''
      let i = start
      for (; i < this.pos; i++) {
        const byte = this.bytes[i]!
        if (byte >= 0x80) break
        text += String.fromCharCode(byte)
      }
      if (i === this.pos) return text
    }
    try {
      return utf8Decoder.decode(this.bytes.subarray(start, this.pos))
    } catch (error) {
      throw new FrameInvalidError(`${what} is not valid UTF-8`, { cause: error })
    }
  }

  /** A tag stamp: a finite f64 (anything else is invalid, never installed). */
  stamp(): number {
    if (this.end - this.pos < STAMP_BYTES) throw new FrameInvalidError('tag stamp is truncated')
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength)
    const stamp = view.getFloat64(this.pos, true)
    this.pos += STAMP_BYTES
    if (!Number.isFinite(stamp)) throw new FrameInvalidError('tag stamp is not a finite number')
    return stamp
  }

  region(): string | undefined {
    const present = this.byte()
    if (present === 0) return undefined
    if (present === 1) return this.string('region')
    throw new FrameInvalidError(`bad region presence byte ${present}`)
  }

  message(): BackplaneMessage {
    const type = this.byte()
    switch (type) {
      case TYPE_CHANGED: {
        const code = this.byte()
        const change = CHANGE_KINDS[code]
        if (change === undefined) throw new FrameInvalidError(`unknown change kind ${code}`)
        const region = this.region()
        return { type: 'changed', change, region, key: this.string('key') }
      }
      case TYPE_REMOVED: {
        const region = this.region()
        return { type: 'removed', region, key: this.string('key') }
      }
      case TYPE_CLEARED:
        return { type: 'cleared' }
      case TYPE_REGION_CLEARED:
        return { type: 'regionCleared', region: this.string('region') }
      case TYPE_TAG_INVALIDATED: {
        const tag = this.string('tag')
        return { type: 'tagInvalidated', tag, stamp: this.stamp() }
      }
      default:
        throw new FrameInvalidError(`unknown message type ${type}`)
    }
  }
}
