import { CacheManager, createBackplaneHub, type KeyEvent, memoryBackplane } from '@cacheplane/core'
import { keyvHandle, keyvStore } from '@cacheplane/keyv'
import { memoryHandle } from '@cacheplane/memory'
import { createCache } from 'cache-manager'
import Keyv from 'keyv'

/** Resolves when `manager` hears the next change made by another instance. */
function nextRemoteSet(manager: CacheManager): Promise<KeyEvent> {
  return new Promise((resolve) => {
    const listener = (event: KeyEvent) => {
      if (event.origin !== 'remote') return
      manager.off('set', listener)
      resolve(event)
    }
    manager.on('set', listener)
  })
}

export async function main() {
  // Two instances in one process; across processes, use redisHandle or keyvHandle over a
  // database as the shared layer and redisBackplane or natsBackplane instead of the hub.
  const hub = createBackplaneHub()
  const shared = keyvHandle({ store: new Map(), distributed: true })
  const instance = () => {
    const manager = new CacheManager({
      name: 'api',
      handles: [memoryHandle({ maxEntries: 10_000 }), shared],
      shared: [shared], // used by both managers: neither closes it
      backplane: memoryBackplane({ hub }),
    })
    // cache-manager 7 as usual; its store is the cacheplane manager.
    return { manager, cache: createCache({ stores: [new Keyv({ store: keyvStore(manager) })] }) }
  }
  const a = instance()
  const b = instance()
  await Promise.all([a.manager.ready(), b.manager.ready()])

  let heard = nextRemoteSet(b.manager)
  await a.cache.set('user:1', { name: 'Ada' }, 60_000) // TTL in ms, as cache-manager takes it
  await heard
  const first = await b.cache.get<{ name: string }>('user:1') // now also in b's memory layer

  heard = nextRemoteSet(b.manager)
  await a.cache.set('user:1', { name: 'Grace' }, 60_000) // writes the shared layer, then tells b
  await heard // b has evicted its memory copy
  const second = await b.cache.get<{ name: string }>('user:1')

  const loaded = await b.cache.wrap('user:2', async () => ({ name: 'Alan' }), 60_000)
  const cached = await a.cache.wrap('user:2', async () => ({ name: 'never called' }), 60_000)

  await Promise.all([a.manager.close(), b.manager.close()]) // the application closes its managers
  return { first: first?.name, second: second?.name, loaded: loaded.name, cached: cached.name }
}
