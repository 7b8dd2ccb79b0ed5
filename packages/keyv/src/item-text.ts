import {
  decodeStoredItem,
  encodeEnvelope,
  type ItemInput,
  ItemCorruptError,
  type StoredItem,
} from '@cacheplane/core'

/**
 * How items become what a Keyv store keeps, and back: core's binary envelope (value bytes
 * plus mode, TTL, expiry, creation time and version) as a base64 string. Strings are what
 * every Keyv adapter stores (SQL adapters keep a TEXT column, where NUL bytes are refused);
 * base64 costs a third more space and keeps the bytes intact everywhere. What is not an
 * item follows core's policy (see decodeStoredItem).
 */

/** The string stored for `item` with `version`. */
export function encodeItem(item: ItemInput<Uint8Array>, version: number): string {
  return Buffer.from(encodeEnvelope({ ...item, version })).toString('base64')
}

// Canonical base64 only: Buffer.from(..., 'base64') silently skips characters it does not know.
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** The item a stored value holds; throws `ItemCorruptError` for anything that is not one. */
export function decodeItem(stored: unknown, source: string, key?: string): StoredItem<Uint8Array> {
  if (typeof stored !== 'string' || !base64.test(stored)) {
    throw new ItemCorruptError(`the Keyv store holds a ${typeof stored} that is not a cacheplane item`, {
      source,
    })
  }
  return decodeStoredItem(Buffer.from(stored, 'base64'), source, key)
}

/** The item a stored value holds, or undefined when it is absent or corrupt. */
export function tryDecodeItem(stored: unknown, source: string): StoredItem<Uint8Array> | undefined {
  if (stored === undefined || stored === null) return undefined
  try {
    return decodeItem(stored, source)
  } catch {
    return undefined
  }
}

/** For `add`: true when the stored value is a live item, or not an item (core's policy: never overwrite what cannot be read). */
export function isTaken(stored: unknown, source: string, now: number): boolean {
  if (stored === undefined || stored === null) return false
  try {
    return isLive(decodeItem(stored, source), now)
  } catch (error) {
    if (error instanceof ItemCorruptError) return true
    throw error
  }
}

/** True while an item may be returned: its expiry, kept in the envelope, is not past. */
export function isLive(item: StoredItem<Uint8Array>, now: number): boolean {
  return item.mode === 'none' || item.expiresAt > now
}
