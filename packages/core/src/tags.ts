/**
 * Tagged items. A tagged item carries, next to its value, its tags and the stamp each tag
 * had when the item was written (its "marks"; see `tag-stamps.ts` for what a stamp is).
 *
 * The tags travel inside the item's value, not in new item fields, so every handle keeps
 * them through the existing contract with no adapter change:
 * - object levels (memory) store a {@link TaggedValue} in place of the value;
 * - bytes levels store the serializer's bytes behind a tag header:
 *
 *     0x00 'C' 'T' | format u8 (1) | tag count u8 | per tag: varint byte length + UTF-8
 *     | per tag: mark f64 | the serializer's bytes...
 *
 * The header starts with a zero byte and `CT`; the serializers core ships start with their
 * format letter (`J`, `V`), so untagged bytes written before tags existed read as they did.
 * A custom serializer must not produce bytes starting with 0x00 0x43 0x54 (documented).
 */
import { InvalidKeyError, InvalidOptionsError, ItemCorruptError } from './errors.js'
import { isValidKey } from './validation.js'
import { varintSize, writeVarint } from './varint.js'

/** Most tags one item may carry. */
export const MAX_TAGS = 64

/**
 * Region of the tag stamps in the bottom handle. It starts with U+0000, which region
 * validation refuses, so no user item can ever land in it.
 */
export const TAG_REGION = '\u0000cacheplane-tags'

const MAGIC_0 = 0x00
const MAGIC_1 = 0x43 // 'C'
const MAGIC_2 = 0x54 // 'T'
const TAGGED_FORMAT = 1

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** A value with its tags and their marks, as object levels store it (core unwraps it on every read). */
export class TaggedValue {
  /**
   * The stamp-table version (see `TagStamps`) at which every mark was last found current: a
   * hit re-checks nothing while no stamp has changed since. Written on reads, never copied.
   */
  verifiedAt = 0

  constructor(
    /** The application value. */
    readonly value: unknown,
    /** The item's tags, deduplicated. */
    readonly tags: readonly string[],
    /** The stamp of `tags[i]` when the item was written. */
    readonly marks: readonly number[],
  ) {}
}

/** The value inside a stored payload: the payload itself unless it is a {@link TaggedValue}. */
export function untag(payload: unknown): unknown {
  return payload instanceof TaggedValue ? payload.value : payload
}

/**
 * The tags of a write, validated and deduplicated: undefined for none. Throws
 * InvalidOptionsError for a non-array or more than {@link MAX_TAGS} tags, InvalidKeyError
 * for a tag that would not be a valid key. Nothing is written when it throws.
 */
export function checkTags(tags: unknown, what = 'tags'): readonly string[] | undefined {
  if (tags === undefined) return undefined
  if (!Array.isArray(tags)) throw new InvalidOptionsError(`${what} must be an array of strings`)
  const unique = [...new Set(tags)]
  if (unique.length > MAX_TAGS) {
    throw new InvalidOptionsError(`${what}: ${unique.length} tags on one item; the maximum is ${MAX_TAGS}`)
  }
  for (const tag of unique) {
    if (!isValidKey(tag)) {
      const shown = typeof tag === 'string' ? `an empty or too long string` : typeof tag
      throw new InvalidKeyError(`${what}: every tag must be a valid key, got ${shown}`)
    }
  }
  return unique.length === 0 ? undefined : unique
}

/** The tags `removeByTag` was given (one tag or an array), validated; at least one. */
export function checkTagArgument(tags: unknown): readonly string[] {
  const list = checkTags(typeof tags === 'string' ? [tags] : tags, 'removeByTag')
  if (list === undefined) throw new InvalidOptionsError('removeByTag needs at least one tag')
  return list
}

/** True when `bytes` start with the tag header (a tagged item of a bytes level). */
export function isTaggedBytes(bytes: Uint8Array): boolean {
  return bytes.length >= 5 && bytes[0] === MAGIC_0 && bytes[1] === MAGIC_1 && bytes[2] === MAGIC_2
}

/** The bytes of a tagged item: the tag header, then the serializer's bytes of its value. */
export function encodeTaggedBytes(tagged: TaggedValue, inner: Uint8Array): Uint8Array {
  const names = tagged.tags.map((tag) => utf8Encoder.encode(tag))
  let size = 5 + 8 * names.length + inner.length
  for (const name of names) size += varintSize(name.length) + name.length
  const out = new Uint8Array(size)
  out[0] = MAGIC_0
  out[1] = MAGIC_1
  out[2] = MAGIC_2
  out[3] = TAGGED_FORMAT
  out[4] = names.length
  let pos = 5
  for (const name of names) {
    pos = writeVarint(out, pos, name.length)
    out.set(name, pos)
    pos += name.length
  }
  const view = new DataView(out.buffer)
  for (const mark of tagged.marks) {
    view.setFloat64(pos, mark, true)
    pos += 8
  }
  out.set(inner, pos)
  return out
}

/**
 * The tags of stored value bytes and the serializer's bytes inside them, for tools that read
 * what a store holds (`cacheplane inspect`); undefined for bytes of an untagged value.
 * Throws ItemCorruptError when the bytes start like a tagged value but are malformed.
 */
export function splitTaggedBytes(bytes: Uint8Array): { tags: string[]; value: Uint8Array } | undefined {
  if (!isTaggedBytes(bytes)) return undefined
  const { tags, inner } = decodeTaggedBytes(bytes)
  return { tags, value: inner }
}

/**
 * Splits tagged bytes into their tags, marks and the serializer's bytes (a view, not a
 * copy). Throws ItemCorruptError for anything malformed.
 */
export function decodeTaggedBytes(bytes: Uint8Array): {
  tags: string[]
  marks: number[]
  inner: Uint8Array
} {
  if (bytes[3] !== TAGGED_FORMAT) throw new ItemCorruptError(`unsupported tagged item format ${bytes[3]}`)
  const count = bytes[4]!
  if (count === 0 || count > MAX_TAGS) throw new ItemCorruptError(`tagged item with ${count} tags`)
  const tags: string[] = []
  let pos = 5
  for (let i = 0; i < count; i++) {
    let length = 0
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[pos++]
      if (byte === undefined || shift > 21) throw new ItemCorruptError('tagged item header is truncated')
      length += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) break
    }
    if (pos + length > bytes.length) throw new ItemCorruptError('tagged item header is truncated')
    try {
      tags.push(utf8Decoder.decode(bytes.subarray(pos, pos + length)))
    } catch (cause) {
      throw new ItemCorruptError('tagged item has a tag that is not UTF-8', { cause })
    }
    pos += length
  }
  if (pos + 8 * count > bytes.length) throw new ItemCorruptError('tagged item header is truncated')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const marks: number[] = []
  for (let i = 0; i < count; i++, pos += 8) marks.push(view.getFloat64(pos, true))
  const inner = new Uint8Array(bytes.buffer, bytes.byteOffset + pos, bytes.byteLength - pos)
  return { tags, marks, inner }
}
