/**
 * The Memcached handle's reads. A read never changes what is stored, except that a hit
 * extends a sliding item (a touch); bytes that are not an item throw ItemCorruptError
 * (core's policy, see decodeStoredItem).
 */
import type { StoredItem } from '@cacheplane/core'
import { getWithCas, touch } from './binary-protocol.js'
import { memcachedExptime } from './expiration-time.js'
import { itemKey, type MemcachedContext } from './handle-context.js'
import { isLive } from './item-bytes.js'

/** The live item under `storeKey`, or undefined. */
export async function readItem(
  context: MemcachedContext,
  storeKey: string,
): Promise<StoredItem<Uint8Array> | undefined> {
  const current = await getWithCas(context.connection, storeKey)
  if (current === undefined) return undefined
  const item = context.bytes.decode(current.value, storeKey)
  return isLive(item, Date.now()) ? item : undefined
}

/** `get`: the live item; a hit extends a sliding item. */
export async function get(
  context: MemcachedContext,
  key: string,
  region: string | undefined,
): Promise<StoredItem<Uint8Array> | undefined> {
  const pendingKey = itemKey(context, key, region)
  const storeKey = typeof pendingKey === 'string' ? pendingKey : await pendingKey
  const item = await readItem(context, storeKey)
  if (item === undefined || item.mode !== 'sliding') return item
  // The envelope keeps its old expiresAt (a touch cannot rewrite it), so report the new one.
  const now = Date.now()
  const expiresAt = now + item.ttl
  await touch(context.connection, storeKey, memcachedExptime('sliding', expiresAt, now))
  return { ...item, expiresAt }
}

/**
 * `peek`: a get without the touch. A sliding item's expiresAt is the one last written:
 * touches extend it in Memcached only.
 */
export async function peek(
  context: MemcachedContext,
  key: string,
  region: string | undefined,
): Promise<StoredItem<Uint8Array> | undefined> {
  return readItem(context, await itemKey(context, key, region))
}
