/**
 * The CacheHandle conformance suite. Every adapter runs it from a short test file, and
 * so can anyone who writes a custom handle:
 *
 *   describeCacheHandle('redisHandle', () => redisHandle({ url }))
 *
 * Every check of every group is registered; one that does not apply to the handle's declared
 * `capabilities` or optional members is reported as skipped with its reason, so nothing is
 * left out silently. Each test gets a fresh handle bound to a random cache name and uses
 * random keys, so suites can share a server.
 */
import { afterEach, beforeEach, describe } from 'vitest'
import type { CacheHandle, HandleCapabilities, MaybePromise } from '../contracts/cache-handle.js'
import { type HandleCheckGroup, registerCheckGroups } from './handle-check.js'
import { bulkChecks } from './handle-suite-bulk.js'
import { lockChecks } from './handle-suite-lock.js'
import { basicsChecks, keysAndValuesChecks, regionChecks } from './handle-suite-basics.js'
import { compareAndSetChecks, versionsNeverRepeatChecks } from './handle-suite-cas.js'
import type { DescribeCacheHandleOptions, HandleSuiteContext } from './handle-suite-context.js'
import { absoluteExpiryChecks, slidingExpiryChecks } from './handle-suite-expiry.js'
import { graceChecks } from './handle-suite-grace.js'
import { lifecycleChecks, sharedStoreChecks } from './handle-suite-store.js'
import { randomKey } from './wait-for.js'

export type { DescribeCacheHandleOptions, HandleSuiteContext } from './handle-suite-context.js'

/** The describe blocks of the suite, in order. */
export const handleCheckGroups: readonly HandleCheckGroup[] = [
  { title: () => 'basics', checks: basicsChecks },
  { title: () => 'keys and values', checks: keysAndValuesChecks },
  { title: (ctx) => `regions (clearRegion: ${ctx.caps.clearRegion})`, checks: regionChecks },
  {
    title: () => 'update (capabilities.cas)',
    checks: [...compareAndSetChecks, ...versionsNeverRepeatChecks],
  },
  {
    title: (ctx) => `absolute expiry (ttlGranularityMs: ${ctx.caps.ttlGranularityMs})`,
    checks: absoluteExpiryChecks,
  },
  { title: () => 'sliding expiry (capabilities.sliding)', checks: slidingExpiryChecks },
  { title: () => 'grace (capabilities.grace)', checks: graceChecks },
  { title: (ctx) => `shared store (sharedStore: ${ctx.sharedStore})`, checks: sharedStoreChecks },
  { title: () => 'lifecycle', checks: lifecycleChecks },
  { title: () => 'lock (optional: getOrAdd distributedLock)', checks: lockChecks },
  { title: () => 'bulk (optional: getMany, setMany, removeMany)', checks: bulkChecks },
]

/** Registers the CacheHandle conformance suite for handles made by `factory`. */
export function describeCacheHandle(
  name: string,
  factory: () => MaybePromise<CacheHandle>,
  options: DescribeCacheHandleOptions = {},
): void {
  describe(name, async () => {
    const { caps, has } = await probeHandle(factory, options)
    const suite = handleSuiteContext(factory, caps, has, options)
    beforeEach(suite.start)
    afterEach(suite.finish)
    registerCheckGroups(suite.ctx, handleCheckGroups)
  })
}

/** What a handle of `factory` claims: the groups depend on it, so one handle is made up front to read it. */
export async function probeHandle(
  factory: () => MaybePromise<CacheHandle>,
  options: DescribeCacheHandleOptions = {},
): Promise<{ caps: HandleCapabilities; has: HandleSuiteContext['has'] }> {
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
    barrier: typeof probe.barrier === 'function',
  }
  await probe.close()
  return { caps, has }
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

async function boundHandle(
  factory: () => MaybePromise<CacheHandle>,
  cacheName: string,
): Promise<CacheHandle> {
  const handle = await factory()
  await handle.bind?.(cacheName)
  return handle
}

/**
 * The context checks run in, and the steps around each check: `start` makes and binds the
 * test's handle, `finish` clears and closes every handle of the test. The suite runs them
 * as vitest hooks; core's own tests call them around single checks.
 */
export function handleSuiteContext(
  factory: () => MaybePromise<CacheHandle>,
  caps: HandleCapabilities,
  has: HandleSuiteContext['has'],
  options: DescribeCacheHandleOptions,
): { ctx: HandleSuiteContext; start(): Promise<void>; finish(): Promise<void> } {
  const ttl = options.shortTtlMs ?? Math.max(300, 3 * caps.ttlGranularityMs)
  let current: CacheHandle | undefined
  let currentClosed = false
  let extras: CacheHandle[] = []

  const bound = (cacheName: string) => boundHandle(factory, cacheName)

  const start = async () => {
    current = await bound(randomKey('cache'))
    currentClosed = false
  }

  const finish = async () => {
    // Clear before closing so a shared server keeps nothing of the test.
    const handles = currentClosed || current === undefined ? extras : [current, ...extras]
    extras = []
    current = undefined
    for (const handle of handles) {
      await handle.clear()
      await handle.close()
    }
    await options.cleanup?.()
  }

  const ctx: HandleSuiteContext = {
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
  return { ctx, start, finish }
}
