/**
 * What the Keyv handle's methods share: the store's calls, the per-key write queue, and
 * the cache the handle is bound to (its key layout and generation tokens). Each group of
 * methods (reads.ts, writes.ts, generations.ts) is a set of functions over this context.
 */
import type { GenerationBinding, GenerationCounters } from '@cacheplane/core'
import type { KeyLayout } from './key-layout.js'
import type { KeyLock } from './key-lock.js'
import type { StoreCalls } from './store-calls.js'

/** What `bind(cacheName)` sets up. */
export interface BoundCache {
  readonly layout: KeyLayout
  readonly generations: GenerationCounters<string>
  /** `layout.itemKey`, bound once: every operation builds a key with it. */
  readonly buildKey: KeyLayout['itemKey']
}

/** The state behind one Keyv handle. */
export interface KeyvContext {
  readonly name: string
  readonly calls: StoreCalls
  readonly lock: KeyLock
  /** The cache the handle is bound to, and its clears. */
  readonly cache: GenerationBinding<string, BoundCache>
  readonly prefix: string
  readonly maxKeyBytes: number
  readonly generationRefreshMs: number
}

/** The store key of an item: a plain string while the generation tokens are fresh. */
export function itemKey(
  context: KeyvContext,
  key: string,
  region: string | undefined,
): string | Promise<string> {
  const { generations, buildKey } = context.cache.scope()
  return generations.itemKey(key, region, buildKey)
}
