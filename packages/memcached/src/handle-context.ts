/**
 * What the Memcached handle's methods share: the connection, the item codec, and the
 * cache the handle is bound to (its key layout and generation counters). Each group of
 * methods (reads.ts, writes.ts, generations.ts) is a set of functions over this context.
 */
import type { GenerationBinding, GenerationCounters } from '@cacheplane/core'
import type { Connection } from './connection.js'
import type { ItemBytes } from './item-bytes.js'
import type { KeyLayout } from './key-layout.js'

/** What `bind(cacheName)` sets up. */
export interface BoundCache {
  readonly cacheName: string
  readonly layout: KeyLayout
  readonly generations: GenerationCounters<number>
  /** `layout.itemKeyAt`, bound once: every operation builds a key with it. */
  readonly buildKey: KeyLayout['itemKeyAt']
}

/** The state behind one Memcached handle. */
export interface MemcachedContext {
  readonly name: string
  readonly connection: Connection
  readonly bytes: ItemBytes
  /** The cache the handle is bound to, and its clears. */
  readonly cache: GenerationBinding<number, BoundCache>
  readonly prefix: string
  readonly generationRefreshMs: number
}

/**
 * The Memcached key of an item: a string at once while the generations it needs are known
 * and fresh (nearly every call), a promise only when one must be read first.
 */
export function itemKey(
  context: MemcachedContext,
  key: string,
  region: string | undefined,
): string | Promise<string> {
  const { generations, buildKey } = context.cache.scope()
  return generations.itemKey(key, region, buildKey)
}
