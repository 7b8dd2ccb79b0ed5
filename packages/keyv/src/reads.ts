/**
 * The Keyv handle's reads. Keyv TTLs are optional (a Map, or an adapter without them,
 * keeps expired items), so `get` deletes an expired item it finds; `peek` and `getMany`
 * change nothing. Bytes that are not an item throw ItemCorruptError (core's policy).
 */
import type { StoredItem } from '@cacheplane/core'
import { itemKey, type KeyvContext } from './handle-context.js'
import { decodeItem, isLive, tryDecodeItem } from './item-text.js'

/** The live item a stored value holds, or undefined. */
function liveItem(context: KeyvContext, stored: unknown, storeKey: string, now: number) {
  if (stored === undefined || stored === null) return undefined
  const item = decodeItem(stored, context.name, storeKey)
  return isLive(item, now) ? item : undefined
}

/** Deletes an expired item unless a write of this process replaced it meanwhile. */
async function deleteIfStill(context: KeyvContext, storeKey: string, version: number): Promise<void> {
  const current = tryDecodeItem(await context.calls.get(storeKey), context.name)
  if (current !== undefined && current.version === version) await context.calls.delete(storeKey)
}

/** `get`: the live item; an expired one is deleted (the store may keep it). */
export async function get(
  context: KeyvContext,
  key: string,
  region: string | undefined,
): Promise<StoredItem<Uint8Array> | undefined> {
  const storeKey = await itemKey(context, key, region)
  const stored = await context.calls.get(storeKey)
  if (stored === undefined || stored === null) return undefined
  const item = decodeItem(stored, context.name, storeKey)
  if (isLive(item, Date.now())) return item
  await context.lock.run(storeKey, () => deleteIfStill(context, storeKey, item.version))
  return undefined
}

/** `peek`: like get, but an expired item is left where it is. */
export async function peek(
  context: KeyvContext,
  key: string,
  region: string | undefined,
): Promise<StoredItem<Uint8Array> | undefined> {
  const storeKey = await itemKey(context, key, region)
  return liveItem(context, await context.calls.get(storeKey), storeKey, Date.now())
}

/** `getMany`: the live items of `keys` in order, with one store call when the adapter has getMany. */
export async function getMany(
  context: KeyvContext,
  keys: readonly string[],
  region: string | undefined,
): Promise<Array<StoredItem<Uint8Array> | undefined>> {
  if (keys.length === 0) return []
  const storeKeys = await Promise.all(keys.map((key) => itemKey(context, key, region)))
  const stored = await context.calls.getMany(storeKeys)
  const now = Date.now()
  return storeKeys.map((storeKey, i) => liveItem(context, stored[i], storeKey, now))
}
