import type {
  CacheHandle,
  ExpirationMode,
  HandleCapabilities,
  ItemInput,
  MaybePromise,
  StoredItem,
} from '../contracts/cache-handle.js'
import { randomKey } from './wait-for.js'

/** Options of {@link describeCacheHandle}. */
export interface DescribeCacheHandleOptions {
  /**
   * Adjusts what the suite assumes on top of the handle's own `capabilities` (for example
   * a coarser `ttlGranularityMs` for a slow store). A capability the handle claims cannot
   * be switched off here: what a handle claims is always tested.
   */
  readonly capabilities?: Partial<HandleCapabilities>
  /** Runs after each test, after the test's handles were cleared and closed. */
  readonly cleanup?: () => MaybePromise<void>
  /**
   * Whether handles from two `factory()` calls share one store (default: the handle's
   * `distributed` capability). Set false when every call creates a new store (an
   * in-process store playing a distributed one): the shared-store group is then omitted.
   */
  readonly sharedStore?: boolean
  /** TTL of the expiry tests, ms. Default: 300, or 3 x `ttlGranularityMs` if that is more. */
  readonly shortTtlMs?: number
  /** Size of the large value round-tripped by bytes handles. Default 512 KiB. */
  readonly largeValueBytes?: number
  /**
   * For a handle with `onExternalClear`: how long after another handle's unannounced clear
   * it must have reported it, ms (for Memcached: about `generationRefreshMs`). Default 10,000.
   */
  readonly externalClearWithinMs?: number
}

/** Optional CacheHandle members whose tests run only when the handle has them. */
export type OptionalMember =
  | 'touch'
  | 'peek'
  | 'getMany'
  | 'setMany'
  | 'removeMany'
  | 'onEvict'
  | 'bind'
  | 'onExternalClear'
  | 'lock'
  | 'barrier'

/** What a suite test reaches: the handle under test and helpers that follow its capabilities. */
export interface HandleSuiteContext {
  /** The handle of the running test, created and bound before it, cleared and closed after. */
  readonly handle: CacheHandle
  /** Capabilities the suite tests (the handle's, with the allowed overrides). */
  readonly caps: HandleCapabilities
  /** The TTL expiry tests use, ms. */
  readonly ttl: number
  /** How long an expiry test waits for an item to disappear, ms. */
  readonly expiryDeadlineMs: number
  /** Size of the large value for bytes handles. */
  readonly largeValueBytes: number
  /** Which optional members the handle has (read from the probe handle at collection). */
  readonly has: Readonly<Record<OptionalMember, boolean>>
  /** Whether two factory() handles share one store. */
  readonly sharedStore: boolean
  /** Deadline of the `onExternalClear` report, ms. */
  readonly externalClearWithinMs: number
  /** Another handle on the store of the factory, bound to `cacheName`; closed after the test. */
  another(cacheName: string): Promise<CacheHandle>
  /** Closes the test's handle now (the close test); it is not closed again after the test. */
  closeHandle(): Promise<void>
}

/** A random key for one test. */
export const key = (): string => randomKey('k')

/** A value for the handle: bytes for `bytes` handles, a plain object otherwise. */
export function valueFor(caps: HandleCapabilities, text: string): unknown {
  return caps.bytes ? new TextEncoder().encode(text) : { text }
}

/** True for what a version must be: a positive safe integer. */
export function isVersion(version: unknown): version is number {
  return typeof version === 'number' && Number.isSafeInteger(version) && version >= 1
}

/** The text a value made by {@link valueFor} carries (undefined for a miss). */
export function textOf(caps: HandleCapabilities, item: StoredItem | undefined): string | undefined {
  if (item === undefined) return undefined
  if (caps.bytes) return new TextDecoder().decode(item.value as Uint8Array)
  return (item.value as { text: string }).text
}

/** An item input as core builds it: `expiresAt` from now and the TTL. */
export function input(
  value: unknown,
  mode: ExpirationMode = 'none',
  ttl = 0,
  version?: number,
): ItemInput<unknown> {
  const now = Date.now()
  return {
    value,
    mode,
    ttl: mode === 'none' ? 0 : ttl,
    expiresAt: mode === 'none' ? 0 : now + ttl,
    created: now,
    ...(version === undefined ? {} : { version }),
  }
}

/**
 * Whether a read that finished now must still have found an item written at `writtenAt`
 * with `ttl`: only when less than the TTL minus one granularity step has passed. A loaded
 * machine may stall a test for longer than a short TTL; the assertion is then skipped
 * instead of failing on wall-clock speed.
 */
export function mustStillExist(ctx: HandleSuiteContext, since: number): boolean {
  return Date.now() - since < ctx.ttl - ctx.caps.ttlGranularityMs
}
