import { CacheManager, type EvictEvent } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

export async function main() {
  const thumbnails = new CacheManager<Uint8Array>({
    name: 'thumbnails',
    handles: [
      memoryHandle<Uint8Array>({
        maxEntries: 10_000, // entry bound: least recently used go first (a read counts as use)
        maxBytes: 1024 * 1024, // and a byte bound...
        sizeOf: (value) => value.byteLength, // ...which needs a size for object values
        sweepIntervalMs: 30_000, // background removal of expired items; 0 = lazy only
      }),
    ],
    expiration: { mode: 'sliding', ttl: 10 * 60_000 },
  })
  const evicted: EvictEvent[] = []
  thumbnails.on('evict', (event) => evicted.push(event)) // reason: 'expired' | 'evicted'

  await thumbnails.set('a', new Uint8Array(600 * 1024))
  await thumbnails.set('b', new Uint8Array(600 * 1024)) // over 1 MiB: 'a' goes

  await thumbnails.close()
  return evicted.map(({ key, reason, handle }) => ({ key, reason, handle }))
}
