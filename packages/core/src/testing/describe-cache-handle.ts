/**
 * The CacheHandle conformance suite. Every adapter runs it from a short test file, and
 * so can anyone who writes a custom handle:
 *
 *   describeCacheHandle('redisHandle', () => redisHandle({ url }))
 *
 * Groups follow the handle's declared `capabilities`; a group the handle does not claim is
 * replaced by a visible test asserting that the capability is indeed not claimed, so
 * nothing is left out silently. Each test gets a fresh handle bound to a random cache
 * name and uses random keys, so suites can share a server.
 */
import { afterEach, beforeEach, describe } from 'vitest'
import type { CacheHandle, HandleCapabilities, MaybePromise } from '../contracts/cache-handle.js'
import { describeBulk } from './handle-suite-bulk.js'
import { describeBasics, describeKeysAndValues, describeRegions } from './handle-suite-basics.js'
import { describeCas } from './handle-suite-cas.js'
import type { DescribeCacheHandleOptions, HandleSuiteContext } from './handle-suite-context.js'
import { describeExpiry, describeSliding } from './handle-suite-expiry.js'
import { describeGrace } from './handle-suite-grace.js'
import { describeLock } from './handle-suite-lock.js'
import { describeLifecycle, describeSharedStore } from './handle-suite-store.js'
import { randomKey } from './wait-for.js'

export type { DescribeCacheHandleOptions, HandleSuiteContext } from './handle-suite-context.js'

/** Registers the CacheHandle conformance suite for handles made by `factory`. */
export function describeCacheHandle(
  name: string,
  factory: () => MaybePromise<CacheHandle>,
  options: DescribeCacheHandleOptions = {},
): void {
  describe(name, async () => {
    // The groups depend on what the handle claims, so one handle is made up front to read it.
    const probe = await factory()
    const caps = resolveCapabilities(probe.capabilities, options.capabilities)
    const has = {
      touch: typeof probe.touch === 'function',
      peek: typeof probe.peek === 'function',
      getMany: typeof probe.getMany === 'function',
      setMany: typeof probe.setMany === 'function',
      removeMany: typeof probe.removeMany === 'function',
      onEvict: typeof probe.onEvict === 'function',
      bind: typeof probe.bind === 'function',
      onExternalClear: typeof probe.onExternalClear === 'function',
      lock: probe.lock !== undefined,
    }
    await probe.close()
    const ctx = createContext(factory, caps, has, options)

    describeBasics(ctx)
    describeKeysAndValues(ctx)
    describeRegions(ctx)
    describeCas(ctx)
    describeExpiry(ctx)
    describeSliding(ctx)
    describeGrace(ctx)
    describeSharedStore(ctx)
    describeLock(ctx)
    describeLifecycle(ctx)
    describeBulk(ctx)
  })
}

function resolveCapabilities(
  claimed: HandleCapabilities,
  overrides: Partial<HandleCapabilities> | undefined,
): HandleCapabilities {
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (claimed[name as keyof HandleCapabilities] === true && value === false) {
      throw new Error(
        `describeCacheHandle: the handle claims capabilities.${name}; a claimed capability is always tested and cannot be switched off`,
      )
    }
  }
  return { ...claimed, ...overrides }
}

function createContext(
  factory: () => MaybePromise<CacheHandle>,
  caps: HandleCapabilities,
  has: HandleSuiteContext['has'],
  options: DescribeCacheHandleOptions,
): HandleSuiteContext {
  const ttl = options.shortTtlMs ?? Math.max(300, 3 * caps.ttlGranularityMs)
  let current: CacheHandle | undefined
  let currentClosed = false
  let extras: CacheHandle[] = []

  const bound = async (cacheName: string): Promise<CacheHandle> => {
    const handle = await factory()
    await handle.bind?.(cacheName)
    return handle
  }

  beforeEach(async () => {
    current = await bound(randomKey('cache'))
    currentClosed = false
  })

  afterEach(async () => {
    // Clear before closing so a shared server keeps nothing of the test.
    const handles = currentClosed || current === undefined ? extras : [current, ...extras]
    extras = []
    current = undefined
    for (const handle of handles) {
      await handle.clear()
      await handle.close()
    }
    await options.cleanup?.()
  })

  return {
    get handle(): CacheHandle {
      if (current === undefined)
        throw new Error('describeCacheHandle: the handle is only available inside a test')
      return current
    },
    caps,
    has,
    ttl,
    // Generous: a loaded CI machine and a coarse store clock both delay expiry a little.
    expiryDeadlineMs: 2 * ttl + Math.max(3_000, 2 * caps.ttlGranularityMs),
    largeValueBytes: options.largeValueBytes ?? 512 * 1024,
    sharedStore: options.sharedStore ?? caps.distributed,
    externalClearWithinMs: options.externalClearWithinMs ?? 10_000,
    async another(cacheName: string): Promise<CacheHandle> {
      const handle = await bound(cacheName)
      extras.push(handle)
      return handle
    },
    async closeHandle(): Promise<void> {
      if (current === undefined || currentClosed) return
      currentClosed = true
      await current.close()
    },
  }
}
