/**
 * A short rendering of a stored value's bytes. The format tag written by core's
 * serializers (`J` JSON, `V` node:v8) picks the decoder unless the user forces one.
 */
import { inspect } from 'node:util'
import {
  JSON_FORMAT_TAG,
  jsonSerializer,
  type Serializer,
  splitTaggedBytes,
  V8_FORMAT_TAG,
  v8Serializer,
} from '@cacheplane/core'

/** Which decoder `inspect` uses: the one the bytes' format tag names, or a forced one. */
export type SerializerChoice = 'auto' | 'json' | 'v8'

/** The serializer choices accepted by `--serializer`. */
export const SERIALIZER_CHOICES: readonly SerializerChoice[] = ['auto', 'json', 'v8']

/** Longest preview printed, characters. */
const MAX_PREVIEW_CHARS = 2_000

/** A decoded value's rendering, or why it could not be decoded. */
export type ValuePreview =
  | { readonly ok: true; readonly format: string; readonly text: string; readonly tags?: readonly string[] }
  | { readonly ok: false; readonly format: string; readonly reason: string }

function pick(bytes: Uint8Array, choice: SerializerChoice): Serializer | undefined {
  if (choice === 'json') return jsonSerializer
  if (choice === 'v8') return v8Serializer
  if (bytes[0] === JSON_FORMAT_TAG) return jsonSerializer
  if (bytes[0] === V8_FORMAT_TAG) return v8Serializer
  return undefined
}

/**
 * Decodes value bytes and renders them with `util.inspect` (which escapes control characters).
 * A tagged value (written with `tags`) is shown as its value, with its tags beside it.
 */
export function previewValue(bytes: Uint8Array, choice: SerializerChoice): ValuePreview {
  let tagged: ReturnType<typeof splitTaggedBytes>
  try {
    tagged = splitTaggedBytes(bytes)
  } catch (error) {
    return { ok: false, format: 'tagged', reason: (error as Error).message }
  }
  if (tagged === undefined) return previewSerialized(bytes, choice)
  const inner = previewSerialized(tagged.value, choice)
  return inner.ok ? { ...inner, tags: tagged.tags } : inner
}

function previewSerialized(bytes: Uint8Array, choice: SerializerChoice): ValuePreview {
  const serializer = pick(bytes, choice)
  if (serializer === undefined) {
    const tag = bytes.length === 0 ? 'none' : `0x${bytes[0]!.toString(16).padStart(2, '0')}`
    return {
      ok: false,
      format: 'unknown',
      reason: `format tag ${tag} is neither json (0x4a) nor v8 (0x56); a custom serializer wrote it?`,
    }
  }
  let value: unknown
  try {
    value = serializer.deserialize(bytes)
  } catch (error) {
    return { ok: false, format: serializer.name, reason: (error as Error).message }
  }
  const text = inspect(value, { depth: 4, maxArrayLength: 20, maxStringLength: 500, breakLength: 100 })
  const clipped =
    text.length > MAX_PREVIEW_CHARS
      ? `${text.slice(0, MAX_PREVIEW_CHARS)}… (${text.length - MAX_PREVIEW_CHARS} more characters)`
      : text
  return { ok: true, format: serializer.name, text: clipped }
}
