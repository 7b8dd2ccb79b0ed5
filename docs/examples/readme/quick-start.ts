import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { corkWrites, redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'

type User = { id: string; name: string; visits: number }
const loadUser = async (id: string): Promise<User> => ({ id, name: `user ${id}`, visits: 0 })

export async function main(url = process.env.REDIS_URL) {
  const client = new Redis(url ?? 'redis://127.0.0.1:6379')
  corkWrites(client) // one socket write per tick, as on the connections cacheplane opens
  const users = new CacheManager<User>({
    name: 'users',
    handles: [memoryHandle({ maxEntries: 50_000 }), redisHandle({ client })],
    backplane: redisBackplane({ client }),
    expiration: { mode: 'absolute', ttl: 60_000 },
  })

  const user = await users.getOrAdd('42', (key) => loadUser(key))
  await users.update('42', (u) => ({ ...u, visits: u.visits + 1 }))

  await users.close()
  await client.quit()
  return user
}
