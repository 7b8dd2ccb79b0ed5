import type { HandleLock } from '@cacheplane/core'

/**
 * The cluster lock of a memory handle that plays a shared store (`distributed: true`): the
 * managers that share the handle in one process take getOrAdd's `distributedLock` here, as
 * instances would in Redis. Locks live beside the items, never among them (they are not
 * items: clears leave them, as clears leave a Redis or Memcached lock), and expire on read.
 */
export class MemoryLock implements HandleLock {
  readonly #held = new Map<string, { owner: string; expiresAt: number }>()

  acquire(key: string, region: string | undefined, owner: string, ttlMs: number): boolean {
    const id = lockId(key, region)
    const current = this.#held.get(id)
    if (current !== undefined && current.expiresAt > Date.now()) return false
    this.#held.set(id, { owner, expiresAt: Date.now() + ttlMs })
    return true
  }

  release(key: string, region: string | undefined, owner: string): boolean {
    const id = lockId(key, region)
    const current = this.#held.get(id)
    if (current === undefined || current.owner !== owner) return false
    this.#held.delete(id)
    return current.expiresAt > Date.now()
  }
}

function lockId(key: string, region: string | undefined): string {
  return region === undefined ? `:${key}` : `${region.length}:${region}:${key}`
}
