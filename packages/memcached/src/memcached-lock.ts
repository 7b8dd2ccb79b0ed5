/**
 * The Memcached handle's cluster lock (`HandleLock`, getOrAdd's `distributedLock`).
 *
 * Acquire is an `add` of the owner token with an expiration: atomic (one `add` wins), and
 * Memcached drops it by itself, so a holder that dies blocks the others for at most the TTL.
 * Release reads the lock with its CAS token and deletes it with that token only while it
 * still holds our owner token: a holder whose lock expired and was taken by another
 * instance meanwhile never deletes that instance's lock (the CAS-checked delete fails).
 *
 * The TTL is rounded up to whole seconds plus one, as items are (`expiration-time.ts`):
 * Memcached's clock ticks once a second, and a lock that ended early would let a second
 * instance start the factory while the first still runs it. A crashed holder's lock so
 * lasts up to two seconds past the TTL asked for.
 *
 * Keys: `<prefix>%lock:<cacheName>:<region>:<key>` (core's lock namespace; the cache part as
 * the item keys have it, readable or hashed), hashed like item keys when too long; no
 * generation segment, so a clear does not orphan a held lock.
 */
import { createHash } from 'node:crypto'
import { type HandleLock, lockKeyPrefix, storeKey } from '@cacheplane/core'
import { getWithCas, remove, store } from './binary-protocol.js'
import type { Connection } from './connection.js'
import { maxRelativeSeconds } from './expiration-time.js'
import { isFitKey } from './key-layout.js'

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

/** The lock key of `key` in `region` for a cache whose lock prefix is `head`; hashed when it does not fit. */
function lockKey(head: string, region: string | undefined, key: string): string {
  const full = storeKey(head, region, key)
  return isFitKey(full) ? full : `${head}%H${hash(full)}`
}

/** The lock of a handle on `connection`; `cacheName()` is the bound cache's name (it throws before bind and after close). */
export function memcachedLock(connection: Connection, prefix: string, cacheName: () => string): HandleLock {
  let headFor: string | undefined
  let head = ''
  function lockHead(): string {
    const name = cacheName()
    if (name !== headFor) {
      const readable = lockKeyPrefix(prefix, name)
      // A name too long for a key is hashed as item keys hash it (escaped names never hold `%H`).
      head = isFitKey(`${readable}%H${'x'.repeat(43)}`)
        ? readable
        : `${lockKeyPrefix(prefix, '')}%H${hash(name)}:`
      headFor = name
    }
    return head
  }

  return {
    async acquire(key, region, owner, ttlMs) {
      const seconds = Math.min(Math.max(1, Math.ceil(ttlMs / 1000)) + 1, maxRelativeSeconds)
      const token = Buffer.from(owner)
      return (await store(connection, 'add', lockKey(lockHead(), region, key), token, seconds)) === 'stored'
    },

    async release(key, region, owner) {
      const storeKeyOfLock = lockKey(lockHead(), region, key)
      const current = await getWithCas(connection, storeKeyOfLock)
      if (current === undefined || current.value.toString() !== owner) return false
      return remove(connection, storeKeyOfLock, current.cas)
    },
  }
}
