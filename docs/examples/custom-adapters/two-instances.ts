import { CacheManager, createBackplaneHub, type KeyEvent, memoryBackplane } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { mapHandle } from './map-handle.js'

/** Resolves when `cache` hears the next change of `key` made by another instance. */
function nextRemote(cache: CacheManager<number>, key: string): Promise<KeyEvent> {
  return new Promise((resolve) => {
    const listener = (event: KeyEvent) => {
      if (event.origin !== 'remote' || event.key !== key) return
      cache.off('update', listener)
      resolve(event)
    }
    cache.on('update', listener)
  })
}

export async function main() {
  // Two application instances in one process: the Map plays the shared store, the hub the
  // pub/sub server. Each instance has its own memory layer and its own handle on the store.
  const store = new Map<string, Uint8Array>()
  const hub = createBackplaneHub()
  const instance = () =>
    new CacheManager<number>({
      name: 'stock',
      handles: [memoryHandle(), mapHandle({ store })],
      backplane: memoryBackplane({ hub }),
    })
  const a = instance()
  const b = instance()
  await Promise.all([a.ready(), b.ready()])

  await a.set('sku-1', 10)
  const first = await b.getItem('sku-1') // level 1: the store; now copied into b's memory
  const heard = nextRemote(b, 'sku-1')
  await a.update('sku-1', (n) => n - 1) // compare-and-set on the store, then a key-only message
  await heard // b has evicted its memory copy
  const after = await b.getItem('sku-1') // level 1 again: the updated value

  await a.close()
  await b.close()
  return { first: [first?.value, first?.level], after: [after?.value, after?.level] }
}
