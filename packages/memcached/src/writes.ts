/**
 * The Memcached handle's writes. `set` is one plain set; `update` is gets + compare version
 * + CAS (one attempt: core retries a conflict); `add` and `expire` are compare-and-set loops
 * (core's retryCompareAndSet). Every write takes a version the writer draws (`newVersion`),
 * so a key removed and added again never gets a version it had. Bytes that are not an item
 * follow core's policy (see decodeStoredItem): an error to update, expire and touch, a
 * taken key to add, replaced by set.
 */
import {
  type ExpirationMode,
  type ItemInput,
  newVersion,
  RETRY_ROUND,
  retryCompareAndSet,
  type UpdateOutcome,
  ValueTooLargeError,
} from '@cacheplane/core'
import {
  type CasToken,
  getWithCas,
  isTooLarge,
  remove as removeKey,
  type StoreResult,
  store,
  touch as touchKey,
} from './binary-protocol.js'
import { memcachedExptime } from './expiration-time.js'
import { itemKey, type MemcachedContext } from './handle-context.js'
import { isLive, isStale } from './item-bytes.js'

/** Stores `value`; a server refusing it as too large is ValueTooLargeError. */
export async function write(
  context: MemcachedContext,
  mode: 'set' | 'add',
  key: string,
  value: Uint8Array,
  exptime: number,
  cas?: CasToken,
): Promise<StoreResult> {
  try {
    return await store(context.connection, mode, key, value, exptime, cas)
  } catch (error) {
    if (!isTooLarge(error)) throw error
    throw new ValueTooLargeError(`Memcached refused an item of ${value.byteLength} bytes as too large`, {
      cause: error,
      source: context.name,
    })
  }
}

/** Memcached's expiration field of an item: one with grace is kept (and returned) until expiresAt + grace. */
export function exptimeOf(item: ItemInput<Uint8Array>): number {
  return memcachedExptime(item.mode, item.expiresAt + (item.grace ?? 0), Date.now())
}

/** The item under `storeKey` with its CAS token, when live; throws ItemCorruptError for bytes that are not one. */
async function liveWithCas(context: MemcachedContext, storeKey: string) {
  const current = await getWithCas(context.connection, storeKey)
  if (current === undefined) return undefined
  const item = context.bytes.decode(current.value, storeKey)
  return isLive(item, Date.now()) ? { item, cas: current.cas } : undefined
}

/** `add`: writes when the key holds no live item; a corrupt one makes the key taken. */
export async function add(
  context: MemcachedContext,
  key: string,
  region: string | undefined,
  item: ItemInput<Uint8Array>,
): Promise<boolean> {
  const storeKey = await itemKey(context, key, region)
  const exptime = exptimeOf(item)
  const fresh = context.bytes.encode(item, item.version ?? newVersion())
  return retryCompareAndSet(
    async () => {
      if ((await write(context, 'add', storeKey, fresh, exptime)) === 'stored') return true
      // Memcached keeps items up to ~2 s past their expiresAt (seconds granularity): such an
      // item counts as absent and is replaced through CAS.
      const current = await getWithCas(context.connection, storeKey)
      if (current === undefined) return RETRY_ROUND
      if (context.bytes.isTaken(current.value, Date.now())) return false
      const result = await write(context, 'set', storeKey, fresh, exptime, current.cas)
      return result === 'stored' ? true : RETRY_ROUND
    },
    { operation: 'add', key: storeKey, source: context.name },
  )
}

/** `set`: one plain set, whatever the key held. */
export async function set(
  context: MemcachedContext,
  key: string,
  region: string | undefined,
  item: ItemInput<Uint8Array>,
): Promise<number> {
  const storeKey = await itemKey(context, key, region)
  const version = item.version ?? newVersion()
  await write(context, 'set', storeKey, context.bytes.encode(item, version), exptimeOf(item))
  return version
}

/** `update`: writes when the live item has `expectedVersion`, through CAS (one attempt). */
export async function update(
  context: MemcachedContext,
  key: string,
  region: string | undefined,
  expectedVersion: number,
  item: ItemInput<Uint8Array>,
): Promise<UpdateOutcome> {
  const storeKey = await itemKey(context, key, region)
  const current = await liveWithCas(context, storeKey)
  if (current === undefined) return { status: 'missing' }
  if (current.item.version !== expectedVersion) return { status: 'conflict' }
  const version = item.version ?? newVersion()
  const bytes = context.bytes.encode(item, version)
  const result = await write(context, 'set', storeKey, bytes, exptimeOf(item), current.cas)
  if (result === 'stored') return { status: 'ok', version }
  return { status: result === 'missing' ? 'missing' : 'conflict' }
}

/** `remove`: true when the key held something. */
export async function remove(context: MemcachedContext, key: string, region: string | undefined) {
  return removeKey(context.connection, await itemKey(context, key, region))
}

/** `expire`: rewrites the live item's lifetime (a new version: an update prepared before must not match); false when absent or stale. */
export async function expire(
  context: MemcachedContext,
  key: string,
  region: string | undefined,
  lifetime: { mode: ExpirationMode; ttl: number; expiresAt: number },
): Promise<boolean> {
  const storeKey = await itemKey(context, key, region)
  const { mode, ttl, expiresAt } = lifetime
  return retryCompareAndSet(
    async () => {
      const current = await liveWithCas(context, storeKey)
      // An item past its expiry, kept for its grace, is absent: re-timing it would revive it.
      if (current === undefined || isStale(current.item, Date.now())) return false
      // It keeps its grace, as on every handle (and its physical expiry includes it).
      const { value, created, grace } = current.item
      const next =
        grace === undefined
          ? { value, mode, ttl, expiresAt, created }
          : { value, mode, ttl, expiresAt, created, grace }
      const bytes = context.bytes.encode(next, newVersion())
      const exptime = exptimeOf(next)
      const result = await write(context, 'set', storeKey, bytes, exptime, current.cas)
      return result === 'exists' ? RETRY_ROUND : result === 'stored'
    },
    { operation: 'expire', key: storeKey, source: context.name },
  )
}

/** `touch`: extends a live sliding item; true when the key holds a live item. */
export async function touch(context: MemcachedContext, key: string, region: string | undefined) {
  const storeKey = await itemKey(context, key, region)
  const current = await liveWithCas(context, storeKey)
  if (current === undefined) return false
  if (current.item.mode !== 'sliding') return true
  const now = Date.now()
  return touchKey(context.connection, storeKey, memcachedExptime('sliding', now + current.item.ttl, now))
}
