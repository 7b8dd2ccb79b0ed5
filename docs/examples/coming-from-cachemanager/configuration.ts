import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'

interface User {
  id: string
  name: string
}

export function createUsersCache(client: Redis) {
  return new CacheManager<User>({
    name: 'users', // CacheFactory.Build<User>("users", ...): here it also scopes keys and channel
    handles: [
      memoryHandle({ maxEntries: 50_000 }), // WithSystemRuntimeCacheHandle("inProcess")
      redisHandle({ client }), // WithRedisCacheHandle("redis", isBackplaneSource: true): the bottom is the source
    ],
    backplane: redisBackplane({ client }), // WithRedisBackplane("redis")
    expiration: { mode: 'absolute', ttl: 60_000 }, // WithExpiration(ExpirationMode.Absolute, 1 min)
    updateRetries: 100, // WithMaxRetries(100), for Update only
  })
}

export async function main(url = 'redis://127.0.0.1:6379') {
  const client = new Redis(url)
  const users = createUsersCache(client)
  await users.set('42', { id: '42', name: 'Ada' })
  await users.close()
  await client.quit()
}
