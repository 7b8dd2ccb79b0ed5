import { CacheManager, type FactoryContext } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

type Price = { sku: string; cents: number }

export async function main() {
  const prices = new CacheManager<Price>({
    name: 'prices',
    handles: [memoryHandle(), memoryHandle({ name: 'shared', distributed: true })],
    expiration: { mode: 'absolute', ttl: 50 }, // fresh for 50 ms (short for the example)
    grace: 60_000, // then kept 60 s more, served only on the stale paths
    failSafeThrottleMs: 5_000, // after a failure, do not call the source again for 5 s
  })
  const log: string[] = []
  prices.on('failSafe', (e) => log.push(`failSafe ${e.key}: ${e.reason}`))

  let databaseUp = true
  // The context comes third: `(sku) => load(sku)` keeps working.
  const load = async (sku: string, _region: string | undefined, ctx: FactoryContext<Price>) => {
    if (!databaseUp) return ctx.fail(new Error('database unreachable'))
    return { sku, cents: ctx.hasStale ? ctx.stale!.cents + 1 : 100 }
  }

  const first = await prices.getOrAdd('sku-1', load) // loaded: 100
  await new Promise((resolve) => setTimeout(resolve, 60)) // past its expiry: only graced now
  const plainGet = await prices.get('sku-1') // undefined: a plain read never serves stale
  const staleGet = await prices.get('sku-1', { allowStale: true }) // the graced value, on request
  databaseUp = false
  const failSafe = await prices.getOrAdd('sku-1', load) // the source fails: the graced value
  const throttled = await prices.getOrAdd('sku-1', load) // within the throttle: not even tried
  await prices.remove('sku-1')
  const afterRemove = await prices.get('sku-1', { allowStale: true }) // a removed value is never served

  await prices.close()
  return {
    first: first.cents,
    plainGet,
    staleGet: staleGet?.cents,
    failSafe: failSafe.cents,
    throttled: throttled.cents,
    afterRemove,
    log,
  }
}
