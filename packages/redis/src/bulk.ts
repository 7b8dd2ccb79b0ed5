/**
 * The Redis handle's bulk methods (core's `getMany`/`setMany`/`removeMany`): N keys in one
 * round trip instead of N. Reads are MGET, writes one pipeline of SETs, removes UNLINK with
 * many keys. On a Cluster a multi-key command must name keys of one hash slot, so the keys
 * are grouped by slot (`key-slot.ts`) and each group is sent as its own command (ioredis
 * routes it to the slot's master); the groups go out together, so a batch still costs one
 * round trip per master. Batches are cut at {@link CHUNK} keys so one huge call does not
 * stall Redis (every command is atomic there) or build one enormous reply.
 *
 * Items are read and written exactly as the single-key methods do (same envelope, same
 * PX, a sliding item extended by the touch script after it was read).
 */
import type { BulkEntry, CacheHandle, ItemInput, StoredItem } from '@cacheplane/core'
import { decodeItem } from './item-codec.js'
import { keySlot } from './key-slot.js'
import { TOUCH_SCRIPT } from './lua-scripts.js'
import type { OwnDeletes } from './own-deletes.js'
import { isCluster, type RedisClient } from './redis-connection.js'
import { runScript } from './script-runner.js'

/** Keys per MGET, pipeline or UNLINK: large enough to amortise the round trip, small enough to keep Redis responsive. */
export const CHUNK = 1000

/** What the bulk methods need from the handle they extend. */
export interface RedisBulkContext {
  readonly client: RedisClient
  /** The store key of `key` in `region` (throws before bind and after close, as the handle does). */
  keyOf(key: string, region: string | undefined): string
  /** The bytes, PX argument and version of a write, as `set` computes them. */
  writeOf(item: ItemInput<Uint8Array>): { bytes: Buffer; px: string; version: number }
  /** Re-throws a "not an item" reply as ItemCorruptError. */
  rethrow(key: string, error: unknown): never
  /** The own-delete tracker while keyspace notifications are watched, else undefined. */
  ownDeletes(): OwnDeletes | undefined
}

/** The bulk members a Redis handle gets. */
export type RedisBulk = Required<Pick<CacheHandle<Uint8Array>, 'getMany' | 'setMany' | 'removeMany'>>

/** `getMany`, `setMany` and `removeMany` for a Redis handle. */
export function redisBulk(ctx: RedisBulkContext): RedisBulk {
  const cluster = isCluster(ctx.client)
  return {
    getMany: (keys, region) => readMany(ctx, cluster, keys, region),
    setMany: (entries, region) => writeMany(ctx, cluster, entries, region),
    async removeMany(keys, region) {
      const fullKeys = keys.map((key) => ctx.keyOf(key, region))
      const own = ctx.ownDeletes()
      const counts = await Promise.all(
        groups(fullKeys, cluster).map((group) => {
          const names = group.map((i) => fullKeys[i]!)
          return own === undefined ? ctx.client.unlink(...names) : unlinkTracked(ctx.client, own, names)
        }),
      )
      return counts.reduce((sum, n) => sum + n, 0)
    },
  }
}

/** MGET per group; sliding items are then extended as `get` extends them. */
async function readMany(
  ctx: RedisBulkContext,
  cluster: boolean,
  keys: readonly string[],
  region: string | undefined,
): Promise<Array<StoredItem<Uint8Array> | undefined>> {
  const fullKeys = keys.map((key) => ctx.keyOf(key, region))
  const items = new Array<StoredItem<Uint8Array> | undefined>(keys.length)
  const sliding: Promise<void>[] = []
  await Promise.all(
    groups(fullKeys, cluster).map(async (group) => {
      const replies = await ctx.client.mgetBuffer(...group.map((i) => fullKeys[i]!))
      for (let g = 0; g < group.length; g++) {
        const i = group[g]!
        const item = decodeItem(fullKeys[i]!, replies[g] ?? null)
        items[i] = item
        if (item !== undefined && item.mode === 'sliding' && item.ttl > 0) {
          const extend = touched(ctx, fullKeys[i]!, item).then((extended) => {
            items[i] = extended
          })
          sliding.push(extend)
        }
      }
    }),
  )
  await Promise.all(sliding)
  return items
}

/** A sliding item read by MGET, extended by the touch script (undefined if it vanished meanwhile). */
async function touched(
  ctx: RedisBulkContext,
  fullKey: string,
  item: StoredItem<Uint8Array>,
): Promise<StoredItem<Uint8Array> | undefined> {
  const now = Date.now()
  try {
    if ((await runScript(ctx.client, TOUCH_SCRIPT, fullKey, [String(now)])) !== 1) return undefined
  } catch (error) {
    ctx.rethrow(fullKey, error)
  }
  return { ...item, expiresAt: now + item.ttl }
}

/** One pipeline of SETs per group; the versions written, in order. */
async function writeMany(
  ctx: RedisBulkContext,
  cluster: boolean,
  entries: ReadonlyArray<BulkEntry<Uint8Array>>,
  region: string | undefined,
): Promise<number[]> {
  const fullKeys = entries.map((entry) => ctx.keyOf(entry.key, region))
  const versions = new Array<number>(entries.length)
  await Promise.all(
    groups(fullKeys, cluster).map(async (group) => {
      const pipeline = ctx.client.pipeline()
      for (const i of group) {
        const { bytes, px, version } = ctx.writeOf(entries[i]!.item)
        versions[i] = version
        // A plain SET replaces a key of any type or content, a corrupt one included.
        if (px === '0') pipeline.set(fullKeys[i]!, bytes)
        else pipeline.set(fullKeys[i]!, bytes, 'PX', px)
      }
      throwFirst(await pipeline.exec())
    }),
  )
  return versions
}

/**
 * UNLINK key by key in one pipeline while keyspace notifications are watched: each key's own
 * result tells whether a `del` notification will come (an expectation for a key that was not
 * there would never be claimed, and would hide a later external delete).
 */
async function unlinkTracked(
  client: RedisClient,
  own: OwnDeletes,
  names: readonly string[],
): Promise<number> {
  const pipeline = client.pipeline()
  for (const name of names) {
    own.expect(name)
    pipeline.unlink(name)
  }
  const results = await pipeline.exec()
  let removed = 0
  for (let i = 0; i < names.length; i++) {
    const [error, count] = results?.[i] ?? [undefined, 0]
    if (error == null && Number(count) > 0) removed++
    else own.forget(names[i]!)
  }
  throwFirst(results)
  return removed
}

/** Throws the first error of a pipeline's results (ioredis resolves a pipeline whose commands failed). */
function throwFirst(results: Array<[Error | null, unknown]> | null): void {
  if (results === null) throw new Error('redis pipeline was discarded')
  for (const [error] of results) if (error != null) throw error
}

/**
 * Indexes of `fullKeys` grouped so each group can be one multi-key command: chunks of
 * {@link CHUNK} on a standalone server, and on a Cluster one hash slot per group (cut at
 * {@link CHUNK} too).
 */
export function groups(fullKeys: readonly string[], cluster: boolean): number[][] {
  const out: number[][] = []
  if (!cluster) {
    for (let start = 0; start < fullKeys.length; start += CHUNK) {
      const end = Math.min(start + CHUNK, fullKeys.length)
      out.push(Array.from({ length: end - start }, (_, k) => start + k))
    }
    return out
  }
  const bySlot = new Map<number, number[]>()
  for (let i = 0; i < fullKeys.length; i++) {
    const slot = keySlot(fullKeys[i]!)
    let group = bySlot.get(slot)
    if (group === undefined || group.length === CHUNK) {
      group = []
      bySlot.set(slot, group)
      out.push(group)
    }
    group.push(i)
  }
  return out
}
