import type { ExpirationMode, ItemInput, StoredItem } from '@cacheplane/core'
import { ItemCorruptError } from '@cacheplane/core'

const MODE_CODE: Record<ExpirationMode, string> = { none: 'n', absolute: 'a', sliding: 's' }
const CODE_MODE: Record<string, ExpirationMode> = { n: 'none', a: 'absolute', s: 'sliding' }

/** The one-letter mode stored in the hash. */
export function encodeMode(mode: ExpirationMode): string {
  return MODE_CODE[mode]
}

/** The script arguments of a write: value, mode, ttl, expiresAt, created, version ('' = assigned by the script), now. */
export function itemArgs(item: ItemInput<Uint8Array>, now: number): Array<string | Buffer> {
  const value = item.value
  if (!(value instanceof Uint8Array))
    throw new TypeError('redis handle stores bytes: item.value must be a Uint8Array')
  return [
    Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    encodeMode(item.mode),
    String(Math.trunc(item.ttl)),
    String(Math.trunc(item.expiresAt)),
    String(Math.trunc(item.created)),
    item.version === undefined ? '' : String(item.version),
    String(now),
  ]
}

function corrupt(key: string, why: string): never {
  throw new ItemCorruptError(`redis item '${key}' does not decode: ${why}`)
}

function integerField(key: string, raw: Buffer | undefined, name: string): number {
  if (raw === undefined) corrupt(key, `field '${name}' is missing`)
  const text = raw.toString('latin1')
  const value = Number(text)
  if (text === '' || !Number.isSafeInteger(value) || value < 0)
    corrupt(key, `field '${name}' is not an integer`)
  return value
}

/** The hash fields a read fetches, in the order {@link decodeItem} expects them. */
export const ITEM_FIELDS = ['v', 'm', 't', 'e', 'c', 'r'] as const

/**
 * Decodes an HMGET of {@link ITEM_FIELDS} (bytes or null per field); undefined when every
 * field is missing (no such key). Throws ItemCorruptError on anything we did not write.
 */
export function decodeItem(
  key: string,
  fields: ReadonlyArray<Buffer | null>,
): StoredItem<Uint8Array> | undefined {
  const [bytes, mode, ttl, expiresAt, created, version] = fields
  if (bytes === null || bytes === undefined) {
    if (fields.every((field) => field === null)) return undefined
    corrupt(key, "field 'v' is missing")
  }
  const decodedMode = CODE_MODE[mode?.toString('latin1') ?? '']
  if (decodedMode === undefined) corrupt(key, "field 'm' is not an expiration mode")
  const decodedVersion = integerField(key, version ?? undefined, 'r')
  if (decodedVersion < 1) corrupt(key, "field 'r' is not a version")
  return {
    // A copy: the reply buffer may be a view on the socket's read chunk.
    value: new Uint8Array(bytes),
    mode: decodedMode,
    ttl: integerField(key, ttl ?? undefined, 't'),
    expiresAt: integerField(key, expiresAt ?? undefined, 'e'),
    created: integerField(key, created ?? undefined, 'c'),
    version: decodedVersion,
  }
}

/** True when Redis refused a command because the key is not a hash (or a script found so). */
export function isCorruptReply(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.message.includes('CACHEPLANE_CORRUPT') || error.message.startsWith('WRONGTYPE'))
  )
}
