/**
 * How an item travels between the handle and Redis: one STRING per item holding core's
 * stored envelope (see `encodeEnvelope` in @cacheplane/core: a 36-byte header with the
 * mode, ttl, expiresAt, created and version, then the value bytes).
 *
 * One string, read with one plain `GET`, is the cheapest read Redis has: the previous
 * format (a hash of six fields read with `HMGET`) cost about 1.3x the client CPU per read
 * in reply buffers and number parsing, and the value came back as one more buffer. The
 * scripts that need the metadata read the header with `GETRANGE`, and `expire` and
 * `touch` patch it in place with `SETRANGE` (see lua-scripts.ts). Writes are plain SETs:
 * the writer puts the version in the header (see `newVersion` in core).
 */
import type { ExpirationMode, ItemInput, StoredItem } from '@cacheplane/core'
import {
  decodeEnvelope,
  ENVELOPE_MODE_CODES,
  encodeEnvelope,
  InvalidValueError,
  ItemCorruptError,
} from '@cacheplane/core'

/** The envelope's mode code of `mode` (the header's byte 3), as a script argument. */
export function encodeMode(mode: ExpirationMode): string {
  return String(ENVELOPE_MODE_CODES[mode])
}

/**
 * Milliseconds until `expiresAt` as the PX argument of a write: '0' means no expiry
 * (a plain SET also removes any previous one), and a lifetime already over is 1 ms so
 * Redis drops the key at once instead of rejecting a non-positive PX. Only this relative
 * time reaches Redis, so a skew between the application's clock and the server's does
 * not shorten or stretch lifetimes.
 */
export function pxArg(mode: ExpirationMode, expiresAt: number, now: number): string {
  if (mode === 'none') return '0'
  return String(Math.max(1, Math.trunc(expiresAt) - now))
}

/** The bytes stored for a write of `item` with `version` (the item's own, or a new one the writer drew). */
export function itemBytes(item: ItemInput<Uint8Array>, version: number): Buffer {
  const value = item.value
  if (!(value instanceof Uint8Array))
    throw new InvalidValueError('redis handle stores bytes: item.value must be a Uint8Array')
  // The blob only travels to ioredis, which copies it into the command it writes: a pool
  // slice (see encodeEnvelope) spares the GC a backing store per write.
  return encodeEnvelope(
    {
      value,
      mode: item.mode,
      ttl: Math.trunc(item.ttl),
      expiresAt: Math.trunc(item.expiresAt),
      created: Math.trunc(item.created),
      version,
      grace: Math.trunc(item.grace ?? 0),
    },
    Buffer.allocUnsafe,
  ) as Buffer
}

/**
 * Decodes the reply of a `GET`: undefined for no key, else the item. The value is a
 * view on the reply buffer, not a copy: core deserializes it at once (see the note on
 * `Serializer.deserialize`). Throws ItemCorruptError for bytes we did not write.
 */
export function decodeItem(key: string, reply: Buffer | null): StoredItem<Uint8Array> | undefined {
  if (reply === null) return undefined
  try {
    return decodeEnvelope(reply)
  } catch (error) {
    throw new ItemCorruptError(`redis item '${key}' does not decode: ${(error as Error).message}`, {
      cause: error,
    })
  }
}

/** True when Redis refused a command because the key is not a string (or a script found the bytes malformed). */
export function isCorruptReply(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.message.includes('CACHEPLANE_CORRUPT') || error.message.startsWith('WRONGTYPE'))
  )
}

/** Re-throws a "not an item" reply (WRONGTYPE, a script's CACHEPLANE_CORRUPT) as ItemCorruptError (core: a miss plus an error event). */
export function rethrowCorrupt(key: string, error: unknown): never {
  if (isCorruptReply(error)) {
    throw new ItemCorruptError(`redis item '${key}' does not decode: ${(error as Error).message}`, {
      cause: error,
    })
  }
  throw error
}
