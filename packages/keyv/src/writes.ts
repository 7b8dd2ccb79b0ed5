/**
 * The Keyv handle's writes. Keyv has no conditional write: `add` and `expire` read then
 * write, atomic within a process (a per-key queue, key-lock.ts), not between processes,
 * where a write racing them may be lost (the later write wins). Versions are core's
 * `newVersion()`: random, so a key never gets one it had before. Bytes that are not an
 * item follow core's policy (see decodeStoredItem): a taken key to add, an error to
 * expire, replaced by set.
 */
import { type ExpirationMode, type ItemInput, NotSupportedError, newVersion } from '@cacheplane/core'
import { itemKey, type KeyvContext } from './handle-context.js'
import { decodeItem, encodeItem, isLive, isTaken } from './item-text.js'
import { storeTtl } from './store-calls.js'

async function write(
  context: KeyvContext,
  storeKey: string,
  item: ItemInput<Uint8Array>,
  version: number,
): Promise<number> {
  await context.calls.set(storeKey, encodeItem(item, version), storeTtl(item, Date.now()))
  return version
}

/** `add`: writes when the key holds no live item (nor bytes that are not an item). */
export async function add(
  context: KeyvContext,
  key: string,
  region: string | undefined,
  item: ItemInput<Uint8Array>,
): Promise<boolean> {
  const storeKey = await itemKey(context, key, region)
  return context.lock.run(storeKey, async () => {
    if (isTaken(await context.calls.get(storeKey), context.name, Date.now())) return false
    await write(context, storeKey, item, item.version ?? newVersion())
    return true
  })
}

/** `set`: one write, whatever the key held. */
export async function set(
  context: KeyvContext,
  key: string,
  region: string | undefined,
  item: ItemInput<Uint8Array>,
): Promise<number> {
  const storeKey = await itemKey(context, key, region)
  return context.lock.run(storeKey, () => write(context, storeKey, item, item.version ?? newVersion()))
}

/** `update`: never called by core (capabilities.cas is false); a direct caller learns why. */
export function update(context: KeyvContext): never {
  throw new NotSupportedError(`keyv handle '${context.name}': a Keyv store has no compare-and-set`, {
    source: context.name,
  })
}

/** `remove`: true when the key held something. */
export async function remove(context: KeyvContext, key: string, region: string | undefined) {
  const storeKey = await itemKey(context, key, region)
  return context.lock.run(storeKey, () => context.calls.delete(storeKey))
}

/** `expire`: rewrites the live item's lifetime (a new version: an update prepared before must not match). */
export async function expire(
  context: KeyvContext,
  key: string,
  region: string | undefined,
  lifetime: { mode: ExpirationMode; ttl: number; expiresAt: number },
): Promise<boolean> {
  const storeKey = await itemKey(context, key, region)
  return context.lock.run(storeKey, async () => {
    const stored = await context.calls.get(storeKey)
    if (stored === undefined || stored === null) return false
    const current = decodeItem(stored, context.name, storeKey)
    if (!isLive(current, Date.now())) return false
    const next = { value: current.value, ...lifetime, created: current.created }
    await write(context, storeKey, next, newVersion())
    return true
  })
}
