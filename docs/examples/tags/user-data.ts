import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

interface Profile {
  name: string
  plan: string
}

// Two application instances in one process: each has its own memory layer over one shared
// store (a distributed-mode memory handle standing in for Redis) and one backplane.
function instance(shared: ReturnType<typeof memoryHandle>, hub: ReturnType<typeof createBackplaneHub>) {
  return new CacheManager<unknown>({
    name: 'accounts',
    handles: [memoryHandle(), shared],
    shared: [shared],
    backplane: memoryBackplane({ hub }),
  })
}

export async function main() {
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true })
  const api = instance(shared, hub)
  const worker = instance(shared, hub)
  await Promise.all([api.ready(), worker.ready()])
  let loads = 0

  // Everything cached about user 42 carries the tag `user:42`.
  const loadProfile = (): Profile => {
    loads++
    return { name: 'Ada', plan: loads === 1 ? 'free' : 'pro' }
  }
  await api.getOrAdd('profile:42', loadProfile, { tags: ['user:42'] })
  await api.set('orders:42', ['o-1', 'o-2'], { tags: ['user:42', 'orders'] })
  // The factory can choose tags from what it loaded (here: the tenant it found).
  await api.getOrAdd('settings:42', (_key, _region, ctx) => {
    ctx.setTags(['user:42', 'tenant:7'])
    return { theme: 'dark' }
  })
  const before = (await worker.get('profile:42')) as Profile // now in the worker's memory too

  // The user upgrades: one call invalidates all of it, on every instance, in O(1).
  const heard = new Promise((resolve) => api.on('removeByTag', resolve)) // origin: 'remote'
  await worker.removeByTag('user:42')
  await heard // delivery to other instances is asynchronous

  const gone = {
    orders: await api.get('orders:42'),
    settings: await api.has('settings:42'),
    profileInMemory: worker.peek('profile:42'),
  }
  const after = (await api.getOrAdd('profile:42', loadProfile, { tags: ['user:42'] })) as Profile

  await Promise.all([api.close(), worker.close()])
  await shared.close()
  return { before: before.plan, gone, after: after.plan, loads }
}
