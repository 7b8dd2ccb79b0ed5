/**
 * The Memcached handle's bulk methods (core's `getMany`/`setMany`/`removeMany`).
 *
 * `getMany` is the binary protocol's multi-get: one GETKQ per key (a quiet get: the server
 * answers only hits, each carrying its key) followed by a NOOP, all with one opaque, sent as
 * one buffer per server. The NOOP's answer comes after every hit, so it ends the batch: one
 * request and one stream of replies per server, and misses cost no reply at all. memjs 1.x
 * has no multi-get; its `Server` does support this shape (a "quiet" response callback kept
 * until an empty-bodied reply, as memjs's own `stats` uses), so the batch goes through it.
 *
 * `setMany` and `removeMany` issue their commands in one turn: the connection corks the
 * sockets for the turn (`connection.ts`), so they leave in one write and their replies
 * stream back in one round trip, without a quiet-write protocol whose errors would have to
 * be matched back to keys.
 */
import {
  type BulkEntry,
  type CacheHandle,
  type ItemInput,
  newVersion,
  type StoredItem,
} from '@cacheplane/core'
import type { Response } from 'memjs'
import {
  type CasValue,
  encodeRequest,
  MemcachedStatusError,
  remove,
  type StoreResult,
} from './binary-protocol.js'
import { type Connection, MemcachedTimeoutError } from './connection.js'
import { memcachedExptime } from './expiration-time.js'
import { isLive, type ItemBytes } from './item-bytes.js'
import { touch } from './binary-protocol.js'

const GETKQ = 0x0d
const NOOP = 0x0a
const STATUS_OK = 0x00
const STATUS_NOT_FOUND = 0x01

/** What the bulk methods need from the handle they extend. */
export interface MemcachedBulkContext {
  readonly connection: Connection
  readonly bytes: ItemBytes
  /** The Memcached key of an item (a promise only while a generation must be read). */
  itemKey(key: string, region: string | undefined): string | Promise<string>
  /** A SET as the handle's `set` writes it (too-large replies become ValueTooLargeError). */
  write(mode: 'set', key: string, value: Uint8Array, exptime: number): Promise<StoreResult>
  /** Memcached's expiration field for an item. */
  exptimeOf(item: ItemInput<Uint8Array>): number
}

/** The bulk members a Memcached handle gets. */
export type MemcachedBulk = Required<Pick<CacheHandle<Uint8Array>, 'getMany' | 'setMany' | 'removeMany'>>

/** `getMany`, `setMany` and `removeMany` for a Memcached handle. */
export function memcachedBulk(ctx: MemcachedBulkContext): MemcachedBulk {
  const { connection, bytes } = ctx

  /** A live item read by the multi-get; a sliding one is extended as `get` extends it. */
  async function itemOf(storeKey: string, hit: CasValue | undefined, now: number) {
    if (hit === undefined) return undefined
    // A corrupt item throws ItemCorruptError: core then reads key by key, and `get` drops it.
    const item = bytes.decode(hit.value, storeKey)
    if (!isLive(item, now)) return undefined
    if (item.mode !== 'sliding') return item
    const expiresAt = now + item.ttl
    await touch(connection, storeKey, memcachedExptime('sliding', expiresAt, now))
    return { ...item, expiresAt }
  }

  return {
    async getMany(keys, region): Promise<Array<StoredItem<Uint8Array> | undefined>> {
      const storeKeys = await Promise.all(keys.map((key) => ctx.itemKey(key, region)))
      const found = await multiGet(connection, storeKeys)
      const now = Date.now()
      return Promise.all(storeKeys.map((storeKey) => itemOf(storeKey, found.get(storeKey), now)))
    },

    async setMany(entries: ReadonlyArray<BulkEntry<Uint8Array>>, region) {
      // Encoded first: an item past maxValueBytes rejects the call before anything is written.
      const writes = entries.map(({ item }) => {
        const version = item.version ?? newVersion()
        return { version, blob: bytes.encode(item, version), exptime: ctx.exptimeOf(item) }
      })
      const storeKeys = await Promise.all(entries.map(({ key }) => ctx.itemKey(key, region)))
      await Promise.all(writes.map((w, i) => ctx.write('set', storeKeys[i]!, w.blob, w.exptime)))
      return writes.map((w) => w.version)
    },

    async removeMany(keys, region) {
      const storeKeys = await Promise.all(keys.map((key) => ctx.itemKey(key, region)))
      const removed = await Promise.all(storeKeys.map((storeKey) => remove(connection, storeKey)))
      return removed.filter(Boolean).length
    },
  }
}

/** The hits among `storeKeys` (GETKQ... NOOP per server), by store key. */
export async function multiGet(
  connection: Connection,
  storeKeys: readonly string[],
): Promise<Map<string, CasValue>> {
  const byServer = new Map<NonNullable<ReturnType<Connection['client']['server']>>, string[]>()
  for (const storeKey of storeKeys) {
    const server = connection.client.server(storeKey)
    if (server === undefined || server === null) throw new Error('memcached: no servers available')
    const group = byServer.get(server)
    if (group === undefined) byServer.set(server, [storeKey])
    else group.push(storeKey)
  }
  const found = new Map<string, CasValue>()
  await Promise.all([...byServer].map(([server, group]) => getQuietly(connection, server, group, found)))
  return found
}

type Server = NonNullable<ReturnType<Connection['client']['server']>>

/**
 * A NOOP to every server (`CacheHandle.barrier`): each server answers it once every request
 * written to it before was, a clear's included.
 */
export async function everyServerAnswered(connection: Connection): Promise<void> {
  await Promise.all(connection.client.servers.map((server) => getQuietly(connection, server, [], new Map())))
}

/**
 * One server's part of a multi-get: its GETKQs and the closing NOOP in one buffer, one opaque
 * (without keys, the NOOP alone: {@link everyServerAnswered}).
 */
function getQuietly(
  connection: Connection,
  server: Server,
  storeKeys: readonly string[],
  found: Map<string, CasValue>,
): Promise<void> {
  const opaque = connection.nextOpaque()
  const requests = storeKeys.map((storeKey) =>
    encodeRequest(GETKQ, storeKey, 0, undefined, opaque, undefined),
  )
  requests.push(encodeRequest(NOOP, '', 0, undefined, opaque, undefined))
  return new Promise((resolve, reject) => {
    let failure: Error | undefined
    const timer = setTimeout(() => {
      const [command, key] = storeKeys.length === 0 ? ['noop', ''] : ['getMany', storeKeys[0]!]
      reject(new MemcachedTimeoutError(command, key, connection.deadlineMs))
    }, connection.deadlineMs)
    const onReply = (response: Response) => {
      const { opcode, status } = response.header
      if (opcode === NOOP) {
        clearTimeout(timer)
        if (failure === undefined) resolve()
        else reject(failure)
      } else if (status === STATUS_OK) {
        // `val` is a view into memjs's reply buffer, which memjs never writes again.
        found.set(response.key.toString('utf8'), { value: response.val, cas: response.header.cas })
      } else if (status !== STATUS_NOT_FOUND) {
        failure ??= new MemcachedStatusError('getkq', response.key.toString('utf8'), status)
      }
    }
    // Kept by memjs until the empty-bodied reply (the NOOP's): every hit reaches it first.
    ;(onReply as { quiet?: boolean }).quiet = true
    server.onResponse(opaque, onReply)
    server.onError(opaque, (error: Error) => {
      clearTimeout(timer)
      reject(error)
    })
    server.write(Buffer.concat(requests))
  })
}
