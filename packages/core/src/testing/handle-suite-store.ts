import { expect } from 'vitest'
import type { CacheHandle } from '../contracts/cache-handle.js'
import type { HandleCheck } from './handle-check.js'
import { type HandleSuiteContext, input, key, textOf, valueFor } from './handle-suite-context.js'
import { randomKey, waitFor } from './wait-for.js'

const separate = (ctx: HandleSuiteContext) =>
  ctx.sharedStore ? undefined : 'handles from two factory() calls are separate stores (sharedStore: false)'
const shared = (ctx: HandleSuiteContext) =>
  ctx.sharedStore ? 'handles from two factory() calls share one store (sharedStore)' : undefined

/** Two handles bound to two new cache names. */
const twoCaches = async (ctx: HandleSuiteContext): Promise<[CacheHandle, CacheHandle]> => [
  await ctx.another(randomKey('cacheA')),
  await ctx.another(randomKey('cacheB')),
]

/**
 * Has `watcher` report the unannounced region clear and clear `other` makes, and not the
 * announced one (the backplane told it: `onRemoteClear`).
 */
async function externalClears(ctx: HandleSuiteContext, watcher: CacheHandle, other: CacheHandle) {
  const reports: Array<string | undefined> = []
  const off = watcher.onExternalClear!((region) => reports.push(region))
  const k = key()
  for (const region of ['announced', 'unannounced', undefined]) {
    await other.set(k, region, input(valueFor(ctx.caps, 'v')))
    expect(textOf(ctx.caps, await watcher.get(k, region))).toBe('v')
  }
  await other.clearRegion('announced')
  await watcher.onRemoteClear?.('announced')
  await other.clearRegion('unannounced')
  const within = { timeoutMs: ctx.externalClearWithinMs }
  await waitFor(() => reports.includes('unannounced'), { ...within, message: 'the region clear reported' })
  await other.clear()
  await waitFor(() => reports.includes(undefined), { ...within, message: 'the clear reported' })
  off()
  return { reports, k }
}

/** Several handles on one store: one cache name shares, two cache names are scoped (`bind`). */
export const sharedStoreChecks: readonly HandleCheck[] = [
  {
    title: 'handles from two factory() calls are separate stores',
    skip: shared,
    async run(ctx) {
      const [one, two] = await twoCaches(ctx)
      const k = key()
      await one.set(k, undefined, input(valueFor(ctx.caps, 'one')))
      expect(await two.get(k, undefined)).toBeUndefined()
    },
  },
  {
    title: 'a handle on a shared store scopes its keys with bind',
    skip: separate,
    run: async (ctx) => expect(ctx.has.bind, 'the handle has a bind member').toBe(true),
  },
  {
    title: 'handles bound to the same cache name see each other',
    skip: separate,
    async run(ctx) {
      const name = randomKey('cache')
      const [one, two] = [await ctx.another(name), await ctx.another(name)]
      const k = key()
      await one.set(k, 'r', input(valueFor(ctx.caps, 'shared')))
      expect(textOf(ctx.caps, await two.get(k, 'r'))).toBe('shared')
      expect(await two.add(k, 'r', input(valueFor(ctx.caps, 'other')))).toBe(false)
      expect(await two.remove(k, 'r')).toBe(true)
      expect(await one.get(k, 'r')).toBeUndefined()
    },
  },
  {
    title: 'handles bound to different cache names do not see each other',
    skip: separate,
    async run(ctx) {
      const [one, two] = await twoCaches(ctx)
      const k = key()
      await one.set(k, undefined, input(valueFor(ctx.caps, 'one')))
      expect(await two.get(k, undefined)).toBeUndefined()
      expect(await two.add(k, undefined, input(valueFor(ctx.caps, 'two')))).toBe(true)
      expect(textOf(ctx.caps, await one.get(k, undefined))).toBe('one')
      expect(textOf(ctx.caps, await two.get(k, undefined))).toBe('two')
    },
  },
  {
    title: 'onExternalClear reports clears made through another handle, not announced ones',
    skip: (ctx) =>
      separate(ctx) ?? (ctx.has.onExternalClear ? undefined : 'the handle has no onExternalClear'),
    async run(ctx) {
      const name = randomKey('cache')
      const [watcher, other] = [await ctx.another(name), await ctx.another(name)]
      const { reports, k } = await externalClears(ctx, watcher, other)
      expect(reports).not.toContain('announced')
      expect(await watcher.get(k, 'unannounced')).toBeUndefined()
    },
  },
  {
    title: 'clear and clearRegion of one cache leave the other intact',
    skip: separate,
    async run(ctx) {
      const [one, two] = await twoCaches(ctx)
      const [a, b] = [key(), key()]
      for (const handle of [one, two]) {
        await handle.set(a, 'r', input(valueFor(ctx.caps, 'in region')))
        await handle.set(b, undefined, input(valueFor(ctx.caps, 'no region')))
      }
      await one.clearRegion('r')
      expect(await one.get(a, 'r')).toBeUndefined()
      expect(textOf(ctx.caps, await two.get(a, 'r'))).toBe('in region')
      await one.clear()
      expect(await one.get(b, undefined)).toBeUndefined()
      expect(textOf(ctx.caps, await two.get(b, undefined))).toBe('no region')
      expect(textOf(ctx.caps, await two.get(a, 'r'))).toBe('in region')
    },
  },
]

/** Every data operation once, on `h`, with what each returned (the synchronous check reads it). */
function everyOperation(ctx: HandleSuiteContext, h: CacheHandle): unknown[] {
  const k = key()
  const v = input(valueFor(ctx.caps, 'v'))
  return [
    h.set(k, 'r', v),
    h.get(k, 'r'),
    h.add(key(), 'r', v),
    h.update(k, 'r', 1, input(valueFor(ctx.caps, 'w'))),
    h.expire(k, 'r', 'absolute', 60_000, Date.now() + 60_000),
    h.touch?.(k, 'r'),
    h.peek?.(k, 'r'),
    h.getMany?.([k], 'r'),
    h.remove(k, 'r'),
    h.clearRegion('r'),
    h.clear(),
  ]
}

/** Declared synchrony, eviction listeners, close. */
export const lifecycleChecks: readonly HandleCheck[] = [
  {
    title: 'claims synchronous: no operation returns a promise',
    skip: (ctx) => (ctx.caps.synchronous ? undefined : 'the handle does not claim synchronous'),
    async run(ctx) {
      for (const result of everyOperation(ctx, ctx.handle)) expect(result).not.toBeInstanceOf(Promise)
    },
  },
  {
    title: 'onEvict returns an unsubscribe function',
    skip: (ctx) => (ctx.has.onEvict ? undefined : 'the handle has no onEvict'),
    async run({ handle }) {
      const off = handle.onEvict!(() => {})
      expect(typeof off).toBe('function')
      off()
      off()
    },
  },
  {
    title: 'close resolves',
    async run(ctx) {
      await ctx.handle.set(key(), undefined, input(valueFor(ctx.caps, 'v')))
      await expect(Promise.resolve(ctx.closeHandle())).resolves.toBeUndefined()
    },
  },
]
