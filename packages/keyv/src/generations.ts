/**
 * The Keyv handle's clears: generation tokens (core's GenerationCounters) kept in the
 * store under the keys of key-layout.ts. A Keyv store can neither scan by prefix nor
 * increment atomically, so a clear writes a new random token; keys built with the old one
 * are never read again (the store's TTL, where it has one, removes them). A missing token
 * is `0`, so a cache that was never cleared needs no write. Two instances clearing at once
 * write two tokens and the last write wins: a clear therefore reads its token back, and
 * every instance re-reads it when the backplane announces a clear, when a gap may have hidden
 * one, or, without one, at most `generationRefreshMs` after it last read it.
 */
import { randomBytes } from 'node:crypto'
import { type GenerationStore, GenerationCounters, ItemCorruptError } from '@cacheplane/core'
import type { BoundCache, KeyvContext } from './handle-context.js'
import { initialToken, KeyLayout } from './key-layout.js'
import type { StoreCalls } from './store-calls.js'

/** A fresh token: 56 random bits as 11 base-36 characters (so never the initial `0`). */
export function newToken(): string {
  return (randomBytes(8).readBigUInt64BE(0) >> 8n).toString(36).padStart(11, '0')
}

/** True for a token this module writes (or the initial one): anything else in the store is corrupt. */
export function isToken(value: unknown): value is string {
  return typeof value === 'string' && (value === initialToken || /^[0-9a-z]{11}$/.test(value))
}

/** Tokens as generations: a read of a missing token is `0`; a clear writes a new token (read back after). */
function tokenStore(calls: StoreCalls, source: string): GenerationStore<string> {
  return {
    async read(key) {
      const token = await calls.get(key)
      if (token === undefined || token === null) return initialToken
      if (isToken(token)) return token
      throw new ItemCorruptError(`generation token '${key}' is corrupt; a clear replaces it`, { source })
    },
    async bump(key) {
      await calls.set(key, newToken(), undefined)
      return undefined
    },
  }
}

/** What `bind(cacheName)` sets up: the key layout and generation tokens of that cache. */
export function bindCache(context: KeyvContext, cacheName: string): BoundCache {
  const layout = new KeyLayout(context.prefix, cacheName, context.maxKeyBytes)
  const generations = new GenerationCounters({
    store: tokenStore(context.calls, context.name),
    cacheKey: layout.cacheGenerationKey,
    regionKey: (region) => layout.regionGenerationKey(region),
    refreshMs: context.generationRefreshMs,
    onUnannounced: context.cache.report,
  })
  return { layout, generations, buildKey: layout.itemKey.bind(layout) }
}
