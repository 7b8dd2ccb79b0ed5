/**
 * Values in and out of bytes handles. A write serializes ONCE, before any handle is
 * touched, so a value the serializer refuses is E_SERIALIZE with nothing written; a
 * stored item that does not decode is reported (E_ITEM_CORRUPT) and reads as a miss.
 */
import type { StoredItem } from './contracts/cache-handle.js'
import type { Serializer } from './contracts/serializer.js'
import { ItemCorruptError, SerializeError } from './errors.js'
import type { CacheEmitter } from './events.js'
import { isPromise, type Layer, notSynchronous, reportError } from './layer.js'
import { decodeTaggedBytes, encodeTaggedBytes, isTaggedBytes, TaggedValue } from './tags.js'

/** A value ready to be written: the application value and, when any level stores bytes, its bytes. */
export interface Encoded {
  readonly value: unknown
  readonly bytes: Uint8Array | undefined
  /** What object levels store: the value, or a {@link TaggedValue} around it for a tagged write. */
  readonly held: unknown
}

/** What a read that found nothing usable returns (never a user value). */
export const MISS: unique symbol = Symbol('cacheplane.miss')

/** Serializes for and decodes from the bytes levels of one manager. */
export class ItemCodec {
  /** True when any level stores bytes. */
  readonly needsBytes: boolean
  /** True when every bytes level copies what it is given: a write's bytes are transient. */
  readonly #copied: boolean
  readonly #serializer: Serializer
  readonly #emitter: CacheEmitter

  constructor(serializer: Serializer, layers: readonly Layer[], emitter: CacheEmitter) {
    this.#serializer = serializer
    this.#emitter = emitter
    this.needsBytes = layers.some((l) => l.bytes)
    this.#copied = layers.every((l) => !l.bytes || l.capabilities.copiesBytes === true)
  }

  /** Serializes once for a write; throws SerializeError when the serializer refuses the value. */
  encode(value: unknown): Encoded {
    if (!this.needsBytes) return { value, bytes: undefined, held: value }
    return { value, bytes: this.#serialize(value, this.#copied), held: value }
  }

  /** {@link encode} for a tagged write: the tags and their marks travel with the value (see `tags.ts`). */
  encodeTagged(value: unknown, tags: readonly string[], marks: readonly number[]): Encoded {
    const held = new TaggedValue(value, tags, marks)
    if (!this.needsBytes) return { value, bytes: undefined, held }
    // The tagged bytes are a copy: what the serializer returns is dropped at once.
    return { value, bytes: encodeTaggedBytes(held, this.#serialize(value, true)), held }
  }

  #serialize(value: unknown, transient: boolean): Uint8Array {
    try {
      return this.#serializer.serialize(value, transient)
    } catch (cause) {
      throw new SerializeError(`serializer '${this.#serializer.name}' cannot serialize this value`, { cause })
    }
  }

  /** Bytes of a copied value for a bytes level above an object level; {@link MISS} (reported) when refused. */
  serializeCopy(layer: Layer, value: unknown): unknown {
    const transient = layer.capabilities.copiesBytes === true
    try {
      if (value instanceof TaggedValue)
        return encodeTaggedBytes(value, this.#serializer.serialize(value.value, true))
      return this.#serializer.serialize(value, transient)
    } catch (cause) {
      reportError(
        this.#emitter,
        layer,
        'copy-up',
        new SerializeError('cannot serialize a copied item', { cause }),
      )
      return MISS
    }
  }

  /**
   * The value of a bytes level's item (a {@link TaggedValue} for a tagged one); {@link MISS}
   * (reported as E_ITEM_CORRUPT, counted) when it does not decode.
   */
  decode(layer: Layer, stored: StoredItem<unknown>): unknown {
    try {
      const bytes = stored.value as Uint8Array
      if (isTaggedBytes(bytes)) {
        const { tags, marks, inner } = decodeTaggedBytes(bytes)
        return new TaggedValue(this.#serializer.deserialize(inner), tags, marks)
      }
      return this.#serializer.deserialize(bytes)
    } catch (cause) {
      // Checked here, off the hot path: a synchronous handle's promise is only ever seen as bytes that fail.
      const error = isPromise(stored)
        ? notSynchronous(layer, 'get', stored)
        : new ItemCorruptError(`handle '${layer.name}' returned bytes that do not decode`, {
            cause,
            source: layer.name,
          })
      reportError(this.#emitter, layer, 'get', error)
      return MISS
    }
  }
}
