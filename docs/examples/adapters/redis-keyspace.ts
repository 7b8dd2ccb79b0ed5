import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import type { Redis } from 'ioredis'

export async function main(client: Redis) {
  const cache = new CacheManager<string>({
    name: 'pages',
    handles: [
      memoryHandle(),
      // Keys Redis expires or evicts, or another client deletes, drop the memory copy too.
      redisHandle({ client, keyspaceNotifications: true, configureServer: true }),
    ],
    backplane: redisBackplane({ client }),
  })
  cache.on('evict', ({ key, reason, handle }) => console.info(`${handle} dropped ${key}: ${reason}`))
  await cache.ready() // bind() checks notify-keyspace-events (and sets it, with configureServer)
  return cache
}
