import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

export async function main() {
  const log: string[] = []
  const cache = new CacheManager<string>({
    name: 'pages',
    handles: [memoryHandle({ maxEntries: 1 }), memoryHandle({ name: 'shared', distributed: true })],
    backplane: memoryBackplane({ hub: createBackplaneHub() }),
  })
  // Listeners cost nothing until registered; register only what you use.
  cache.on('error', ({ operation, handle, error }) => log.push(`error ${operation} ${handle} ${error.code}`))
  cache.on('backplane', (event) =>
    log.push(event.type === 'gap' ? `gap ${event.gap.reason} ${event.action}` : `backplane ${event.state}`),
  )
  cache.on('evict', ({ key, reason, handle }) => log.push(`evict ${key} ${reason} from ${handle}`))
  cache.on('get', ({ key, level }) => log.push(`get ${key} level ${level}`)) // -1: a miss
  cache.on('set', ({ key, origin }) => log.push(`set ${key} ${origin}`))

  await cache.ready()
  await cache.set('a', 'A')
  await cache.set('b', 'B') // memory holds one entry: 'a' is evicted from it
  await cache.get('a') // found in the shared layer
  await cache.get('nope')
  await cache.close()
  return log
}
