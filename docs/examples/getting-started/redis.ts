import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'

interface User {
  id: string
  name: string
  visits: number
}

/** Your data access: called by getOrAdd only when no layer has the user. */
async function loadUser(id: string): Promise<User> {
  return { id, name: `user ${id}`, visits: 0 }
}

export async function main(url = 'redis://127.0.0.1:6379') {
  // Your client: cacheplane never closes it. Fail fast when Redis is down.
  const client = new Redis(url, {
    enableAutoPipelining: true,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 1,
  })

  const users = new CacheManager<User>({
    name: 'users', // scopes the Redis keys (cacheplane:users:...) and the channel
    handles: [memoryHandle({ maxEntries: 50_000 }), redisHandle({ client })],
    backplane: redisBackplane({ client }), // opens its own subscriber connection
    expiration: { mode: 'absolute', ttl: 60_000 },
  })
  users.on('error', ({ operation, handle, error }) => console.warn(operation, handle, error.code))
  await users.ready() // optional: resolves once the backplane subscription is live

  const user = await users.getOrAdd('42', (id) => loadUser(id))
  await users.update('42', (u) => ({ ...u, visits: u.visits + 1 }))

  await users.close() // publishes what is queued, closes what cacheplane opened
  await client.quit()
  return user
}
