import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

export async function main() {
  const cache = new CacheManager<number>({
    name: 'counters',
    handles: [memoryHandle(), memoryHandle({ name: 'shared', distributed: true })],
  })
  const removedByHandle: string[] = []
  cache.on('evict', ({ key, reason }) => removedByHandle.push(`${key}:${reason}`)) // OnRemoveByHandle

  await cache.set('hits', 1, { region: 'eu' }) // Put("hits", 1, "eu")
  const added = await cache.add('hits', 5, { region: 'eu' }) // Add(...): false, it exists
  const item = await cache.getItem('hits', { region: 'eu' }) // GetCacheItem("hits", "eu")
  const updated = await cache.update('hits', (n) => n + 1, { region: 'eu', maxRetries: 10 }) // Update(key, region, fn, 10)
  const tried = await cache.tryUpdate('nope', (n) => n + 1) // TryUpdate: { ok: false, reason: 'missing' }
  const upserted = await cache.addOrUpdate('visits', 1, (n) => n + 1) // AddOrUpdate("visits", 1, fn)
  const loaded = await cache.getOrAdd('answer', () => 42) // GetOrAdd("answer", k => 42)
  await cache.expire('answer', { mode: 'sliding', ttl: 30_000 }) // Expire("answer", Sliding, 30 s)
  await cache.expire('answer', { mode: 'none' }) // RemoveExpiration("answer")
  const exists = await cache.has('answer') // Exists("answer")
  await cache.clearRegion('eu') // ClearRegion("eu"): this cache's region only
  await cache.remove('visits') // Remove("visits")
  await cache.close() // Dispose()

  return { added, version: item?.version, updated, tried, upserted, loaded, exists }
}
