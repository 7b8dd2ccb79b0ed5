/**
 * The listener of the shared-backplane propagation scenario: `cacheNames.length` caches in
 * one process, all on one backplane object (memory + Redis through one client). On a remote
 * `set` of the key in any of them it reads the key back from that cache and reports `seen`,
 * like the single-cache listener in `listeners.ts`.
 */
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'
import { monotonicMs } from '../percentiles.js'
import { type BackplaneChoice, createBackplane } from './backplane-choice.js'
import type { Probe } from './listeners.js'

/** Config of {@link runSharedCacheListener}. */
export interface SharedCacheListenerConfig {
  readonly cacheNames: readonly string[]
  readonly key: string
  readonly redisUrl: string
  readonly backplane: BackplaneChoice
}

/** Caches that share one backplane (and one Redis client), as an application would set them up. */
export function sharedCaches(
  cacheNames: readonly string[],
  redisUrl: string,
  backplane: BackplaneChoice,
): { caches: CacheManager<Probe>[]; close(): Promise<void> } {
  const client = new Redis(redisUrl)
  const shared = createBackplane(backplane)
  const caches = cacheNames.map(
    (name) =>
      new CacheManager<Probe>({
        name,
        handles: [memoryHandle({ maxEntries: 1_000 }), redisHandle({ client })],
        backplane: shared,
      }),
  )
  return {
    caches,
    async close() {
      await Promise.all(caches.map((cache) => cache.close()))
      client.disconnect()
    },
  }
}

export async function runSharedCacheListener(config: SharedCacheListenerConfig): Promise<void> {
  const { caches } = sharedCaches(config.cacheNames, config.redisUrl, config.backplane)
  await Promise.all(caches.map((cache) => cache.ready()))
  for (const cache of caches) {
    cache.on('set', (event) => {
      if (event.origin !== 'remote' || event.key !== config.key) return
      const te = monotonicMs()
      cache.get(config.key).then(
        (value) =>
          process.send?.({ type: 'seen', seq: value?.seq ?? -1, t0: value?.t0 ?? 0, te, tr: monotonicMs() }),
        (error: unknown) => process.send?.({ type: 'error', message: String(error) }),
      )
    })
  }
  process.send?.({ type: 'ready' })
}
