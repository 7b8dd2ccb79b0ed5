import { CacheManager } from '@cacheplane/core'
import { keyvHandle } from '@cacheplane/keyv'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane } from '@cacheplane/redis'
import KeyvPostgres from '@keyv/postgres'

export async function main(
  postgres = 'postgresql://app@db.internal:5432/app',
  redis = 'redis://10.0.0.5:6379',
) {
  // Any Keyv storage adapter works the same way: @keyv/mongo, @keyv/mysql, @keyv/sqlite, ...
  const store = new KeyvPostgres({ uri: postgres, table: 'cache' })
  const cache = new CacheManager<{ total: number }>({
    name: 'reports',
    handles: [
      memoryHandle({ maxEntries: 10_000 }),
      keyvHandle({
        store, // shared by every instance: the handle is distributed
        generationRefreshMs: 5_000, // re-read clear tokens at least this often
      }),
    ],
    backplane: redisBackplane({ url: redis }),
    expiration: { mode: 'absolute', ttl: 15 * 60_000 },
  })
  await cache.set('q3', { total: 1_250 }, { region: 'eu' })
  const stored = await cache.get('q3', { region: 'eu' }) // { total: 1250 }
  await cache.clearRegion('eu') // one write: a new generation token for the region
  const cleared = await cache.get('q3', { region: 'eu' }) // undefined, on every instance
  await cache.close()
  await store.disconnect() // the handle never closes the store it was given
  return { stored, cleared }
}
