/**
 * `clearRegion` time against the region's size, on Redis and on Memcached: a region of N
 * items (and as many items in another region, which must survive) is filled through a
 * CacheManager over the store alone, then cleared once and timed. Redis clears by scanning
 * the region's keys on every master; Memcached by bumping the region's generation counter,
 * so its time should not depend on N.
 */
import { randomUUID } from 'node:crypto'
import { type CacheHandle, CacheManager } from '@cacheplane/core'
import { memcachedHandle } from '@cacheplane/memcached'
import { redisHandle } from '@cacheplane/redis'
import type { BenchContext, Scenario } from '../context.js'
import { runConcurrent } from '../measure.js'
import type { Cell, ScenarioResult } from '../results.js'

const FILL_CONCURRENCY = 128

async function measure(
  store: string,
  handle: CacheHandle<unknown>,
  size: number,
): Promise<Record<string, Cell>> {
  const cache = new CacheManager<number>({
    name: `bench-clear-${randomUUID().slice(0, 8)}`,
    handles: [handle],
  })
  try {
    await runConcurrent(FILL_CONCURRENCY, size, async (i) => {
      await cache.set(`k${i}`, i, { region: 'cleared' })
      await cache.set(`k${i}`, i, { region: 'kept' })
    })
    const started = performance.now()
    await cache.clearRegion('cleared')
    const ms = performance.now() - started
    // The clear must have cleared that region and nothing else.
    const probe = Math.floor(size / 2)
    if ((await cache.get(`k${probe}`, { region: 'cleared' })) !== undefined)
      throw new Error(`clear-region: ${store} still has an item of the cleared region`)
    if ((await cache.get(`k${probe}`, { region: 'kept' })) !== probe)
      throw new Error(`clear-region: ${store} lost an item of another region`)
    await cache.clear()
    return { store, size, ms, perItem: Math.round(((ms * 1000) / size) * 100) / 100 }
  } finally {
    await cache.close()
  }
}

export const scaleClearRegion: Scenario = {
  name: 'scale-clear-region',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const redisUrl = await context.servers.redis()
    const memcachedServers = await context.servers.memcached()
    const sizes = context.quick ? [1_000, 10_000] : [1_000, 100_000]
    const rows: Array<Record<string, Cell>> = []
    for (const size of sizes) {
      context.log(`scale-clear-region: ${size.toLocaleString('en-US')} items on Redis and Memcached`)
      rows.push(await measure('Redis', redisHandle({ url: redisUrl }), size))
      rows.push(await measure('Memcached', memcachedHandle({ servers: memcachedServers }), size))
    }
    return {
      name: 'scale-clear-region',
      title: 'clearRegion time against region size',
      description:
        'A region of N items, with N more in another region that must survive, filled through a CacheManager over the store alone; one clearRegion timed (wall clock), then checked: the region is gone, the other is intact.',
      columns: [
        { key: 'store', title: 'store' },
        { key: 'size', title: 'items in region', format: 'int' },
        { key: 'ms', title: 'clearRegion ms', format: 'ms' },
        { key: 'perItem', title: 'µs per item' },
      ],
      rows,
      targets: [],
      charts: ['Redis', 'Memcached'].map((store) => ({
        title: `clearRegion ms, ${store}, by region size`,
        unit: 'ms',
        bars: rows
          .filter((row) => row.store === store)
          .map((row) => ({
            label: `${(row.size as number).toLocaleString('en-US')}`,
            value: row.ms as number,
            ours: true,
          })),
      })),
    }
  },
}
