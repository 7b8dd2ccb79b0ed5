/**
 * Writes of one item: add is SET NX, set a plain SET (the writer draws the version), CAS
 * update and expire single-key Lua scripts (Cluster-safe: each names its one key).
 */
import type { ExpirationMode, ItemInput, UpdateOutcome } from '@cacheplane/core'
import { newVersion } from '@cacheplane/core'
import { encodeMode, itemBytes, pxArg, rethrowCorrupt } from './item-codec.js'
import { EXPIRE_SCRIPT, UPDATE_SCRIPT } from './lua-scripts.js'
import type { RedisClient } from './redis-connection.js'
import { runScript } from './script-runner.js'
import { sendSet } from './one-buffer-command.js'

/** A write as Redis gets it: the stored bytes, the PX argument and the version in the header. */
interface RedisWrite {
  readonly bytes: Buffer
  readonly px: string
  readonly version: number
}

/**
 * The bytes, with the item's version or a new one in the header, and the PX lifetime (the
 * item's grace included: Redis keeps it until its physical expiry).
 */
export function writeOf(item: ItemInput<Uint8Array>): RedisWrite {
  const version = item.version ?? newVersion()
  const px = pxArg(item.mode, item.expiresAt + (item.grace ?? 0), Date.now())
  return { bytes: itemBytes(item, version), px, version }
}

/** SET NX: true when the key was absent and is now written. */
export async function addItem(
  client: RedisClient,
  fullKey: string,
  item: ItemInput<Uint8Array>,
): Promise<boolean> {
  const { bytes, px } = writeOf(item)
  return (await sendSet(client, fullKey, bytes, px, true)) === 'OK'
}

/** A plain SET, which replaces a key of any type or content, a corrupt one included; the written version. */
export async function setItem(
  client: RedisClient,
  fullKey: string,
  item: ItemInput<Uint8Array>,
): Promise<number> {
  const { bytes, px, version } = writeOf(item)
  await sendSet(client, fullKey, bytes, px, false)
  return version
}

/** Replaces the item only while its version is still `expectedVersion` (the update script). */
export async function updateItem(
  client: RedisClient,
  fullKey: string,
  expectedVersion: number,
  item: ItemInput<Uint8Array>,
): Promise<UpdateOutcome> {
  const { bytes, px, version } = writeOf(item)
  let reply: unknown
  try {
    reply = await runScript(client, UPDATE_SCRIPT, fullKey, [bytes, px, String(expectedVersion)])
  } catch (error) {
    rethrowCorrupt(fullKey, error)
  }
  if (Number(reply) === 0) return { status: 'missing' }
  if (Number(reply) === -1) return { status: 'conflict' }
  return { status: 'ok', version }
}

/** Rewrites the expiration in the item's header and its PX, under a new version; false when absent or stale. */
export async function expireItem(
  client: RedisClient,
  fullKey: string,
  mode: ExpirationMode,
  ttl: number,
  expiresAt: number,
): Promise<boolean> {
  const now = Date.now()
  const args = [
    encodeMode(mode),
    String(Math.trunc(ttl)),
    String(Math.trunc(expiresAt)),
    pxArg(mode, expiresAt, now),
    String(newVersion()),
    String(now),
  ]
  try {
    return (await runScript(client, EXPIRE_SCRIPT, fullKey, args)) === 1
  } catch (error) {
    rethrowCorrupt(fullKey, error)
  }
}
