import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { Cluster } from 'ioredis'

export async function main() {
  const cluster = new Cluster([{ host: '10.0.0.1', port: 6379 }], {
    enableAutoPipelining: true,
    redisOptions: { commandTimeout: 1_000, maxRetriesPerRequest: 1 },
  })
  const cache = new CacheManager<string>({
    name: 'pages',
    handles: [memoryHandle(), redisHandle({ client: cluster })],
    // sharded: 'auto' (default) uses SSUBSCRIBE/SPUBLISH when every node runs Redis 7+
    backplane: redisBackplane({ client: cluster, sharded: 'auto' }),
  })
  await cache.set('home', '<html>...</html>')
  await cache.clear() // SCAN + UNLINK of this cache's keys on every master
  await cache.close()
  await cluster.quit() // ours: cacheplane never closes a client it was given
}
