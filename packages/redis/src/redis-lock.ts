/**
 * The Redis handle's cluster lock (`HandleLock`, getOrAdd's `distributedLock`).
 *
 * Acquire is `SET <lock key> <owner> NX PX <ttl>`: atomic, and Redis expires it by itself, so
 * a holder that dies (SIGKILL) blocks the others for at most the TTL. Release is a one-key Lua
 * compare-and-delete: DEL only while the key still holds our owner token, so a holder whose
 * lock expired and was taken by another instance never deletes that instance's lock. Both
 * name one key, so they run unchanged on Redis Cluster.
 *
 * Lock keys are `<prefix>%lock:<cacheName>:<region>:<key>` (core's `lockKeyPrefix`): outside
 * every cache's item prefix, so item reads, SCAN-based clears and keyspace notifications
 * never meet them.
 */
import { type HandleLock, storeKey } from '@cacheplane/core'
import { createHash } from 'node:crypto'
import type { LuaScript } from './lua-scripts.js'
import type { RedisClient } from './redis-connection.js'
import { runScript } from './script-runner.js'

const RELEASE_SOURCE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

const RELEASE_SCRIPT: LuaScript = {
  name: 'lock-release',
  source: RELEASE_SOURCE,
  sha: createHash('sha1').update(RELEASE_SOURCE).digest('hex'),
}

/** The lock of a handle on `client`; `lockPrefix()` is `lockKeyPrefix(prefix, cacheName)` once bound (it throws before). */
export function redisLock(client: RedisClient, lockPrefix: () => string): HandleLock {
  return {
    async acquire(key, region, owner, ttlMs) {
      const px = Math.max(1, Math.ceil(ttlMs))
      return (await client.set(storeKey(lockPrefix(), region, key), owner, 'PX', px, 'NX')) === 'OK'
    },

    async release(key, region, owner) {
      return (
        Number(await runScript(client, RELEASE_SCRIPT, storeKey(lockPrefix(), region, key), [owner])) === 1
      )
    },
  }
}
