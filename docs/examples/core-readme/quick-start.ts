import { CacheManager, createBackplaneHub, type KeyEvent, memoryBackplane } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

/** Resolves when `cache` hears another instance's next `set`. */
const nextRemoteSet = (cache: CacheManager<string>) =>
  new Promise<void>((resolve) => {
    const listener = (event: KeyEvent) => {
      if (event.origin !== 'remote') return
      cache.off('set', listener)
      resolve()
    }
    cache.on('set', listener)
  })

export async function main() {
  const hub = createBackplaneHub() // in-process stand-in for Redis pub/sub or NATS
  const store = memoryHandle({ name: 'store', distributed: true }) // stand-in for Redis
  const instance = () =>
    new CacheManager<string>({
      name: 'greetings',
      handles: [memoryHandle(), store], // top to bottom
      shared: [store], // used by both instances: closed by its creator, not by a manager
      backplane: memoryBackplane({ hub }),
      expiration: { mode: 'absolute', ttl: 60_000 },
    })
  const a = instance()
  const b = instance()
  await Promise.all([a.ready(), b.ready()])

  let heard = nextRemoteSet(b)
  await a.set('hello', 'world')
  await heard
  const first = await b.get('hello') // 'world', read from the store and kept in b's memory

  heard = nextRemoteSet(b)
  await a.set('hello', 'there')
  await heard // b evicted its memory copy
  const second = await b.get('hello') // 'there'

  await Promise.all([a.close(), b.close()])
  store.close()
  return { first, second }
}
