/**
 * The Memcached handle's clears: generation counters (core's GenerationCounters) kept in
 * Memcached as plain counters under the keys of key-layout.ts, so `clear()` and
 * `clearRegion()` are one increment and never `flush_all`.
 *
 * A counter is created on first read with the current time in ms as its value, not 0: if
 * Memcached evicts it (it is a normal item) or a server restarts, the new counter starts
 * above every value handed out before, so old items never come back, and the read that
 * finds it reports the clear (`onExternalClear`): a server restarted empty was cleared.
 */
import type { GenerationStore } from '@cacheplane/core'
import { GenerationCounters } from '@cacheplane/core'
import { increment } from './binary-protocol.js'
import type { Connection } from './connection.js'
import type { BoundCache, MemcachedContext } from './handle-context.js'
import { KeyLayout } from './key-layout.js'

/** Memcached counters as generations: reads add 0, clears add 1; both create a missing counter at now. */
function counterStore(connection: Connection): GenerationStore<number> {
  return {
    read: (key) => increment(connection, key, 0, Date.now()),
    bump: (key) => increment(connection, key, 1, Date.now()),
  }
}

const grown = (candidate: number, held: number): boolean => candidate > held

/** What `bind(cacheName)` sets up: the key layout and counters of that cache. */
export function bindCache(context: MemcachedContext, cacheName: string): BoundCache {
  const layout = new KeyLayout(context.prefix, cacheName)
  const generations = new GenerationCounters({
    store: counterStore(context.connection),
    cacheKey: layout.cacheGenerationKey,
    regionKey: (region) => layout.regionGenerationKey(region),
    refreshMs: context.generationRefreshMs,
    newer: grown,
    onUnannounced: context.cache.report,
  })
  return { cacheName, layout, generations, buildKey: layout.itemKeyAt.bind(layout) }
}
