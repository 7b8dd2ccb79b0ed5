import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { chaosBackplane } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'

export async function main() {
  const hub = createBackplaneHub()
  // chaosBackplane (from the test kit) lets us report a gap as a real transport would.
  const backplane = chaosBackplane(memoryBackplane({ hub }))
  const cache = new CacheManager<string>({
    name: 'catalog',
    handles: [memoryHandle(), memoryHandle({ name: 'shared', distributed: true })],
    backplane,
    gapPolicy: 'clear', // the default: an unrecovered gap clears every local handle
    maxLocalTtlMs: 30_000, // and no local copy outlives 30 s, should a gap go unnoticed
  })
  const log: string[] = []
  cache.on('backplane', (event) => {
    if (event.type === 'gap')
      log.push(`gap ${event.gap.reason} recovered=${event.gap.recovered}: ${event.action}`)
    else log.push(`backplane ${event.state}`)
  })
  await cache.ready()

  await cache.set('sku-1', 'blue shirt')
  const before = (await cache.getItem('sku-1'))?.level // 0: served from memory

  backplane.emitGap({ reason: 'reconnect', recovered: false }) // Redis pub/sub reconnected
  const afterGap = (await cache.getItem('sku-1'))?.level // 1: memory was cleared, read from below

  backplane.emitGap({ reason: 'reconnect', recovered: true }) // NATS replay delivered what was missed
  const afterReplay = (await cache.getItem('sku-1'))?.level // 0: memory kept

  await cache.close()
  return { before, afterGap, afterReplay, log }
}
