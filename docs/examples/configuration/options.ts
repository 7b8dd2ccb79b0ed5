import { CacheManager, createBackplaneHub, memoryBackplane, v8Serializer } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

export async function main() {
  const hub = createBackplaneHub()
  const cache = new CacheManager<Map<string, number>>({
    name: 'scores', // required
    handles: [memoryHandle({ maxEntries: 1_000 }), memoryHandle({ name: 'shared', distributed: true })],
    shared: [], // default none: the manager owns, and closes, every handle it is given
    backplane: memoryBackplane({ hub }),
    expiration: { mode: 'absolute', ttl: 5 * 60_000 }, // default { mode: 'none' }
    serializer: v8Serializer, // default jsonSerializer; v8 keeps Maps, Dates, BigInt
    channelPrefix: 'cacheplane:', // default
    secret: 'a shared secret', // default none: frames are not signed
    gapPolicy: 'clear', // default; 'keep', or (gap) => 'clear' | 'keep'
    maxLocalTtlMs: 60_000, // default none
    backplaneDown: 'bypass', // default; 'keep' serves memory while the backplane is down
    updateRetries: 50, // default
    circuitBreaker: { failureThreshold: 5, resetAfterMs: 5_000 }, // default; false turns it off
    maxQueue: 10_000, // default
    retry: { baseDelayMs: 50, maxDelayMs: 5_000 }, // default
    closeTimeoutMs: 5_000, // default
    slidingTouchRatio: 0.25, // default
  })
  await cache.set('team-a', new Map([['ada', 3]]))
  const scores = await cache.get('team-a')
  await cache.close()
  return scores
}
