/**
 * The options of {@link redisHandle} and their checks: everything a misuse can get wrong is
 * rejected here, before a connection is opened, with `InvalidOptionsError`.
 */
import type { HandleCapabilities } from '@cacheplane/core'
import { InvalidOptionsError } from '@cacheplane/core'
import type { RedisConnectionOptions } from './redis-connection.js'

/** Options of {@link redisHandle}: a connection plus how keys are laid out and cleared. */
export interface RedisHandleOptions extends RedisConnectionOptions {
  /** Handle name for stats, events and errors; default `'redis'`. */
  name?: string
  /** Prepended to every key (and the SCAN pattern of clears); default `'cacheplane:'`. */
  prefix?: string
  /** COUNT hint of each SCAN page during `clear`/`clearRegion`; default 1000. */
  scanCount?: number
  /** Raise `evict` events for keys Redis expires or evicts, or another client deletes; default false. */
  keyspaceNotifications?: boolean
  /** With `keyspaceNotifications`, CONFIG SET the needed notify-keyspace-events classes when missing; default false. */
  configureServer?: boolean
}

/** The handle's own settings, defaults applied (the connection options are resolved apart). */
export interface RedisHandleSettings {
  /** Handle name. */
  readonly name: string
  /** Key prefix in front of the cache name. */
  readonly prefix: string
  /** SCAN COUNT hint of clears. */
  readonly scanCount: number
  /** Whether keyspace notifications become `evict` events. */
  readonly keyspaceNotifications: boolean
  /** Whether missing notification classes are configured on the server. */
  readonly configureServer: boolean
}

/** 100 years: keeps every time below 2^53 ms, where the header's doubles are exact. */
const MAX_TTL_MS = 100 * 365 * 24 * 3600 * 1000

/** What a Redis handle can do; the conformance suites and core read the same object. */
export const REDIS_CAPABILITIES: HandleCapabilities = {
  distributed: true,
  bytes: true,
  cas: true,
  sliding: true,
  maxTtlMs: MAX_TTL_MS,
  ttlGranularityMs: 1,
  clearRegion: 'scan',
  synchronous: false,
  grace: true,
  // Every write copies its bytes into an envelope (item-codec.ts) and keeps nothing.
  copiesBytes: true,
}

/** Applies the defaults; throws `InvalidOptionsError` for a malformed option. */
export function redisHandleSettings(options: RedisHandleOptions): RedisHandleSettings {
  const scanCount = options.scanCount ?? 1000
  if (!Number.isInteger(scanCount) || scanCount < 1) {
    throw new InvalidOptionsError(`redisHandle: 'scanCount' must be a positive integer, got ${scanCount}`)
  }
  if (options.configureServer === true && options.keyspaceNotifications !== true) {
    throw new InvalidOptionsError(
      "redisHandle: 'configureServer' only applies with 'keyspaceNotifications: true'",
    )
  }
  return {
    name: options.name ?? 'redis',
    prefix: options.prefix ?? 'cacheplane:',
    scanCount,
    keyspaceNotifications: options.keyspaceNotifications === true,
    configureServer: options.configureServer === true,
  }
}
