import type { MaybePromise } from './cache-handle.js'

/**
 * The optional lock of a distributed handle (`CacheHandle.lock`; its presence is the
 * capability). getOrAdd's `distributedLock` takes it in the bottom handle so that one
 * instance of the cluster runs a cold key's factory while the others wait for its write.
 *
 * A lock is a short-lived entry owned by a random token: only the owner releases it, and
 * it expires by itself after its TTL, which is what bounds a crashed holder. Lock entries
 * live in a namespace no item key can take (`lockKeyPrefix` in `@cacheplane/core`: its
 * `%lock` segment is not a form `escapeSegment` ever produces), so a lock is never read as
 * an item, never cleared by `clear()` or `clearRegion()`, and never collides with a user key.
 */
export interface HandleLock {
  /**
   * Takes the lock of `key` in `region` for `owner` unless someone holds it, atomically; it
   * expires after `ttlMs` ms (rounded up to the store's granularity). True when taken.
   */
  acquire(key: string, region: string | undefined, owner: string, ttlMs: number): MaybePromise<boolean>
  /**
   * Releases the lock of `key` in `region` only while `owner` still holds it (an atomic
   * compare-and-delete: a lock that expired and was taken by another owner is left alone).
   * True when released.
   */
  release(key: string, region: string | undefined, owner: string): MaybePromise<boolean>
}
