import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

interface User {
  id: string
  name: string
  visits: number
}

export async function main() {
  const users = new CacheManager<User>({
    name: 'users',
    handles: [memoryHandle({ maxEntries: 10_000 })],
    expiration: { mode: 'absolute', ttl: 60_000 },
  })

  await users.set('42', { id: '42', name: 'Ada', visits: 0 })
  const ada = await users.get('42') // { id: '42', name: 'Ada', visits: 0 }

  // One factory call per key per process, however many callers wait for it.
  const bob = await users.getOrAdd('7', async (id) => ({ id, name: 'Bob', visits: 0 }))

  // Compare-and-set on the bottom handle, retried on conflicts.
  const visited = await users.update('42', (user) => ({ ...user, visits: user.visits + 1 }))

  await users.close()
  return { ada, bob, visited }
}
