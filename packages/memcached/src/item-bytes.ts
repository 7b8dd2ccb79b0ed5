import {
  decodeStoredItem,
  encodeEnvelope,
  type ItemInput,
  ItemCorruptError,
  type StoredItem,
  ValueTooLargeError,
} from '@cacheplane/core'

/** How items are turned into the single blob Memcached stores (core's envelope), and back. */
export class ItemBytes {
  constructor(
    private readonly source: string,
    private readonly maxBytes: number,
  ) {}

  /** Core's envelope of `item` with `version`; throws `ValueTooLargeError` (before any write) past the limit. */
  encode(item: ItemInput<Uint8Array>, version: number): Uint8Array {
    const bytes = encodeEnvelope({ ...item, version })
    if (bytes.byteLength > this.maxBytes) {
      throw new ValueTooLargeError(
        `item of ${bytes.byteLength} bytes is larger than maxValueBytes (${this.maxBytes}); nothing was written`,
        { source: this.source },
      )
    }
    return bytes
  }

  /** The stored item; throws `ItemCorruptError` when the bytes under `key` are not an envelope. */
  decode(bytes: Uint8Array, key?: string): StoredItem<Uint8Array> {
    return decodeStoredItem(bytes, this.source, key)
  }

  /** For `add`: true when the bytes hold a live item, or are not an item (core's policy: never overwrite what cannot be read). */
  isTaken(bytes: Uint8Array, now: number): boolean {
    try {
      return isLive(this.decode(bytes), now)
    } catch (error) {
      if (error instanceof ItemCorruptError) return true
      throw error
    }
  }
}

/**
 * True while an item may be returned (an item with grace until expiresAt + grace). Absolute
 * items expire to the millisecond from the envelope (Memcached keeps them up to ~2 s longer:
 * seconds, rounded up, plus a tick); sliding items are extended on every hit with a touch,
 * which cannot rewrite the envelope, so for them Memcached's own expiry decides.
 */
export function isLive(item: StoredItem<Uint8Array>, now: number): boolean {
  return item.mode !== 'absolute' || item.expiresAt + (item.grace ?? 0) > now
}

/** True when a live absolute item is past its expiry: kept for its grace, absent to writes like `expire`. */
export function isStale(item: StoredItem<Uint8Array>, now: number): boolean {
  return item.mode === 'absolute' && item.expiresAt <= now
}
