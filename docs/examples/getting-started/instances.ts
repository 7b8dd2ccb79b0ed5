import { CacheManager, createBackplaneHub, type KeyEvent, memoryBackplane } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

interface Price {
  amount: number
}

/** Resolves when `cache` hears the next change made by another instance. */
function nextRemoteSet(cache: CacheManager<Price>): Promise<KeyEvent> {
  return new Promise((resolve) => {
    const listener = (event: KeyEvent) => {
      if (event.origin !== 'remote') return
      cache.off('set', listener)
      resolve(event)
    }
    cache.on('set', listener)
  })
}

export async function main() {
  // Stand-ins that need no server: a hub plays Redis pub/sub, a distributed memory
  // handle plays the shared Redis store. Both instances use the same ones.
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true })
  const instance = () =>
    new CacheManager<Price>({
      name: 'prices',
      handles: [memoryHandle(), shared], // top (in-process) to bottom (source of truth)
      shared: [shared], // both instances use it: no manager closes it, its creator does
      backplane: memoryBackplane({ hub }),
    })
  const a = instance()
  const b = instance()
  await Promise.all([a.ready(), b.ready()])

  let heard = nextRemoteSet(b)
  await a.set('sku-1', { amount: 100 })
  await heard

  const first = await b.getItem('sku-1') // level 1: the shared layer; now copied into b's memory
  const again = await b.getItem('sku-1') // level 0: b's memory

  heard = nextRemoteSet(b)
  await a.set('sku-1', { amount: 120 }) // writes the shared layer, then tells b
  await heard // b has evicted its memory copy
  const after = await b.getItem('sku-1') // level 1 again, the new value

  await a.close()
  await b.close()
  shared.close()
  return {
    first: { amount: first?.value.amount, level: first?.level },
    again: { amount: again?.value.amount, level: again?.level },
    after: { amount: after?.value.amount, level: after?.level },
  }
}
