import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

interface Price {
  amount: number
}

/** The database: one query for many rows, as a `WHERE sku = ANY($1)` would be. */
const database = new Map<string, Price>([
  ['sku-1', { amount: 100 }],
  ['sku-2', { amount: 250 }],
  ['sku-3', { amount: 75 }],
])
let queries = 0
async function loadPrices(skus: readonly string[]): Promise<Map<string, Price>> {
  queries++
  return new Map(skus.flatMap((sku) => (database.has(sku) ? [[sku, database.get(sku)!] as const] : [])))
}

/** A page's prices: one getMany, one query for the misses, one setMany to cache them. */
async function pricesFor(cache: CacheManager<Price>, skus: readonly string[]) {
  const cached = await cache.getMany(skus)
  const missing = skus.filter((_, i) => cached[i] === undefined)
  if (missing.length === 0) return cached
  const loaded = await loadPrices(missing)
  await cache.setMany(
    [...loaded].map(([key, value]) => ({ key, value })),
    {
      expiration: { mode: 'absolute', ttl: 60_000 },
    },
  )
  return skus.map((sku, i) => cached[i] ?? loaded.get(sku))
}

export async function main() {
  // No server: a hub plays Redis pub/sub, a distributed memory handle plays Redis.
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true })
  const instance = () =>
    new CacheManager<Price>({
      name: 'prices',
      handles: [memoryHandle(), shared],
      shared: [shared],
      backplane: memoryBackplane({ hub }),
    })
  const a = instance()
  const b = instance()
  await Promise.all([a.ready(), b.ready()])

  const page = ['sku-1', 'sku-2', 'sku-3', 'sku-404']
  const first = await pricesFor(a, page) // all miss: one query, one setMany
  const second = await pricesFor(b, page) // b's memory misses, the shared layer answers
  const framesBefore = a.stats().backplane?.framesSent ?? 0
  await a.removeMany(['sku-1', 'sku-2']) // both keys leave in one backplane frame
  await a.flush()
  const frames = (a.stats().backplane?.framesSent ?? 0) - framesBefore

  await a.close()
  await b.close()
  shared.close()
  return {
    first: first.map((price) => price?.amount),
    second: second.map((price) => price?.amount),
    queries, // sku-404 is in no row: the second page asked the database for it again
    frames,
  }
}
