import { expect } from 'vitest'
import type { HandleCheck } from './handle-check.js'
import { type HandleSuiteContext, input, key, valueFor } from './handle-suite-context.js'
import { randomKey, waitFor } from './wait-for.js'

const noLock = (ctx: HandleSuiteContext) =>
  ctx.has.lock ? undefined : 'the handle has no lock; getOrAdd coalesces in-process only'

const lockOf = (ctx: HandleSuiteContext) => ctx.handle.lock!

/** The optional cluster lock (`CacheHandle.lock`, getOrAdd's `distributedLock`). */
export const lockChecks: readonly HandleCheck[] = [
  {
    title: 'one owner takes a lock; only that owner releases it',
    skip: noLock,
    async run(ctx) {
      const k = key()
      expect(await lockOf(ctx).acquire(k, undefined, 'a', 60_000)).toBe(true)
      expect(await lockOf(ctx).acquire(k, undefined, 'b', 60_000)).toBe(false)
      expect(await lockOf(ctx).release(k, undefined, 'b')).toBe(false)
      expect(await lockOf(ctx).acquire(k, undefined, 'b', 60_000)).toBe(false)
      expect(await lockOf(ctx).release(k, undefined, 'a')).toBe(true)
      expect(await lockOf(ctx).acquire(k, undefined, 'b', 60_000)).toBe(true)
      expect(await lockOf(ctx).release(k, undefined, 'a')).toBe(false)
    },
  },
  {
    title: 'locks of a key in two regions, or of two keys, are separate',
    skip: noLock,
    async run(ctx) {
      const k = key()
      expect(await lockOf(ctx).acquire(k, undefined, 'a', 60_000)).toBe(true)
      expect(await lockOf(ctx).acquire(k, 'r', 'b', 60_000)).toBe(true)
      expect(await lockOf(ctx).acquire(`${k}x`, undefined, 'c', 60_000)).toBe(true)
    },
  },
  {
    title: 'a lock is not an item, and clears leave it',
    skip: noLock,
    async run(ctx) {
      const k = key()
      expect(await lockOf(ctx).acquire(k, 'r', 'a', 60_000)).toBe(true)
      expect(await ctx.handle.get(k, 'r')).toBeUndefined()
      expect(await ctx.handle.add(k, 'r', input(valueFor(ctx.caps, 'item')))).toBe(true)
      await ctx.handle.clearRegion('r')
      await ctx.handle.clear()
      expect(await lockOf(ctx).acquire(k, 'r', 'b', 60_000)).toBe(false)
    },
  },
  {
    title: 'a lock expires after its TTL (a crashed holder blocks no one for longer)',
    skip: noLock,
    async run(ctx) {
      const k = key()
      expect(await lockOf(ctx).acquire(k, undefined, 'crashed', ctx.ttl)).toBe(true)
      await waitFor(async () => await lockOf(ctx).acquire(k, undefined, 'next', 60_000), {
        timeoutMs: ctx.expiryDeadlineMs,
        intervalMs: 50,
        message: 'the lock to expire',
      })
      expect(await lockOf(ctx).release(k, undefined, 'crashed')).toBe(false)
    },
  },
  {
    title: 'handles of one cache share locks; another cache has its own',
    skip: (ctx) =>
      noLock(ctx) ??
      (ctx.sharedStore
        ? undefined
        : 'handles from two factory() calls are separate stores (sharedStore: false)'),
    async run(ctx) {
      const name = randomKey('cache')
      const [one, two, other] = [
        await ctx.another(name),
        await ctx.another(name),
        await ctx.another(randomKey('c')),
      ]
      const k = key()
      expect(await one.lock!.acquire(k, undefined, 'a', 60_000)).toBe(true)
      expect(await two.lock!.acquire(k, undefined, 'b', 60_000)).toBe(false)
      expect(await other.lock!.acquire(k, undefined, 'c', 60_000)).toBe(true)
      expect(await two.lock!.release(k, undefined, 'a')).toBe(true)
    },
  },
]
