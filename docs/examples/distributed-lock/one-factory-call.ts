import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

type User = { id: string; name: string }

export async function main() {
  // Three instances over one shared store and one backplane (in-process stand-ins for Redis).
  const hub = createBackplaneHub()
  const store = memoryHandle({ name: 'shared', distributed: true })
  const instances = ['a', 'b', 'c'].map(
    (name) =>
      new CacheManager<User>({
        name: 'users',
        handles: [memoryHandle(), store],
        shared: [store],
        backplane: memoryBackplane({ hub, name }),
        distributedLock: { ttlMs: 10_000 }, // or true; default false (one call per process)
      }),
  )
  const wakes: string[] = []
  for (const cache of instances)
    cache.on('distributedLock', (e) => e.type === 'woken' && wakes.push(e.reason))

  let calls = 0
  const loadUser = async (id: string) => {
    calls++
    await new Promise((resolve) => setTimeout(resolve, 20)) // the database
    return { id, name: `user ${id}` }
  }
  // 3 instances x 5 callers of one cold key: one loadUser call in the whole cluster.
  const users = await Promise.all(
    instances.flatMap((cache) => Array.from({ length: 5 }, () => cache.getOrAdd('42', loadUser))),
  )
  // A per-call override: this call coalesces in its process only.
  await instances[0]!.getOrAdd('7', loadUser, { distributedLock: false })

  for (const cache of instances) await cache.close()
  store.close()
  return { calls, sameUser: users.every((u) => u.name === 'user 42'), wakes }
}
