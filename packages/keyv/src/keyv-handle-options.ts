import { type HandleCapabilities, InvalidOptionsError } from '@cacheplane/core'
import type { KeyvStoreAdapter } from 'keyv'
import { minKeyBytes, prefixProblem } from './key-layout.js'

/**
 * What the handle needs of a Keyv storage adapter: `get`, `set` (with a TTL in ms, which
 * adapters may ignore) and `delete`; `getMany` is used when present. Every Keyv adapter
 * (`@keyv/postgres`, `@keyv/mongo`, `@keyv/sqlite`, `@keyv/redis`, ...) fits, and so does
 * a `Map`, Keyv's in-memory store.
 */
export type KeyvStorage =
  | (Pick<KeyvStoreAdapter, 'get' | 'set' | 'delete'> & Partial<Pick<KeyvStoreAdapter, 'getMany'>>)
  | Map<string, unknown>

/** Options of {@link keyvHandle}. */
export interface KeyvHandleOptions {
  /** The Keyv storage adapter (or `Map`); the handle uses it and never disconnects it. */
  store: KeyvStorage
  /**
   * Whether application instances share the store (a database) or each has its own (a `Map`).
   * Default: false for a `Map` (or a Keyv over one), true otherwise.
   */
  distributed?: boolean
  /** Prefix of every key this handle writes (default `'cacheplane:'`); at most 64 bytes, no NUL. */
  prefix?: string
  /** Name of the handle in stats, events and errors (default `'keyv'`). */
  name?: string
  /** Re-read the generation tokens (clears by other instances) at least this often, ms (default 5000). */
  generationRefreshMs?: number
  /**
   * Longest key written as is, UTF-8 bytes (default 255, `@keyv/postgres`' VARCHAR(255));
   * longer keys are written as a SHA-256 hash. At least 200.
   */
  maxKeyBytes?: number
}

/** Options with defaults applied. */
export interface ResolvedKeyvOptions {
  readonly store: KeyvStorage
  readonly prefix: string
  readonly name: string
  readonly generationRefreshMs: number
  readonly maxKeyBytes: number
  readonly capabilities: HandleCapabilities
}

function isInProcess(store: KeyvStorage): boolean {
  // A Keyv instance handed over as the store keeps its own adapter in `store`.
  return store instanceof Map || (store as { store?: unknown }).store instanceof Map
}

function positive(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= min) {
    throw new InvalidOptionsError(`keyvHandle: ${name} must be a number above ${min}, got ${String(value)}`)
  }
  return value
}

function checkStore(store: unknown): asserts store is KeyvStorage {
  const candidate = store as Partial<Record<'get' | 'set' | 'delete', unknown>> | null
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.get !== 'function' ||
    typeof candidate.set !== 'function' ||
    typeof candidate.delete !== 'function'
  ) {
    throw new InvalidOptionsError(
      'keyvHandle: store must be a Keyv storage adapter (get, set, delete), e.g. new KeyvPostgres(uri) or a Map',
    )
  }
}

/** Validates the options and applies defaults; throws InvalidOptionsError naming the bad option. */
export function resolveKeyvOptions(options: KeyvHandleOptions): ResolvedKeyvOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('keyvHandle needs options: { store }')
  }
  checkStore(options.store)
  const prefix = options.prefix ?? 'cacheplane:'
  const problem = typeof prefix === 'string' ? prefixProblem(prefix) : 'must be a string'
  if (problem !== undefined) throw new InvalidOptionsError(`keyvHandle: prefix ${problem}`)
  const name = options.name ?? 'keyv'
  if (typeof name !== 'string' || name === '') {
    throw new InvalidOptionsError('keyvHandle: name must be a non-empty string')
  }
  const distributed = options.distributed ?? !isInProcess(options.store)
  if (typeof distributed !== 'boolean')
    throw new InvalidOptionsError('keyvHandle: distributed must be a boolean')
  return {
    store: options.store,
    prefix,
    name,
    generationRefreshMs: positive('generationRefreshMs', options.generationRefreshMs, 5_000),
    maxKeyBytes: positive('maxKeyBytes', options.maxKeyBytes, 255, minKeyBytes - 1),
    capabilities: keyvCapabilities(distributed),
  }
}

/**
 * What a Keyv store can do. Keyv has get/set/delete and nothing conditional, so:
 * - no `cas`: a compare-and-set would be a read then a write, which another instance can
 *   interleave; core then rejects `update` for this layer rather than lose writes;
 * - no `sliding`: extending an item means rewriting it, and a rewrite racing another
 *   instance's `set` would bring the older value back; core stores sliding items as absolute;
 * - expiry through the envelope (checked on every read, to the millisecond) and the store's
 *   own TTL where the adapter has one (it only frees space);
 * - region clears by generation tokens (see generations.ts): Keyv cannot delete by prefix.
 */
export function keyvCapabilities(distributed: boolean): HandleCapabilities {
  return {
    distributed,
    bytes: true,
    cas: false,
    sliding: false,
    maxTtlMs: Number.POSITIVE_INFINITY,
    ttlGranularityMs: 1,
    clearRegion: 'generation',
    synchronous: false,
    // Every write stores the base64 text of an envelope (item-text.ts), never the array itself.
    copiesBytes: true,
  }
}
