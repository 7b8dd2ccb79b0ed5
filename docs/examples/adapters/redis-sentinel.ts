import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import type { RedisOptions } from 'ioredis'

export async function main() {
  const redis: RedisOptions = {
    sentinels: [
      { host: 'sentinel-1', port: 26379 },
      { host: 'sentinel-2', port: 26379 },
    ],
    name: 'mymaster',
    failoverDetector: true, // drop connections on +switch-master instead of waiting for errors
  }
  const cache = new CacheManager<string>({
    name: 'pages',
    handles: [memoryHandle(), redisHandle({ redis })],
    backplane: redisBackplane({ redis }), // a failover is reported as a gap: local copies are dropped
    maxLocalTtlMs: 60_000, // bounds a local copy of a write lost in a failover
  })
  await cache.set('home', '<html>...</html>')
  await cache.close()
}
