import { describe, expect, test } from 'vitest'
import { type HandleSuiteContext, input, key, valueFor } from './handle-suite-context.js'
import { randomKey, waitFor } from './wait-for.js'

/** The optional cluster lock (`CacheHandle.lock`, getOrAdd's `distributedLock`). */
export function describeLock(ctx: HandleSuiteContext): void {
  if (!ctx.has.lock) {
    test.skip('lock (skipped: the handle has no lock; getOrAdd coalesces in-process only)', () => {})
    return
  }
  describe('lock', () => {
    const lockOf = () => ctx.handle.lock!

    test('one owner takes a lock; only that owner releases it', async () => {
      const k = key()
      expect(await lockOf().acquire(k, undefined, 'a', 60_000)).toBe(true)
      expect(await lockOf().acquire(k, undefined, 'b', 60_000)).toBe(false)
      expect(await lockOf().release(k, undefined, 'b')).toBe(false)
      expect(await lockOf().acquire(k, undefined, 'b', 60_000)).toBe(false)
      expect(await lockOf().release(k, undefined, 'a')).toBe(true)
      expect(await lockOf().acquire(k, undefined, 'b', 60_000)).toBe(true)
      expect(await lockOf().release(k, undefined, 'a')).toBe(false)
    })

    test('locks of a key in two regions, or of two keys, are separate', async () => {
      const k = key()
      expect(await lockOf().acquire(k, undefined, 'a', 60_000)).toBe(true)
      expect(await lockOf().acquire(k, 'r', 'b', 60_000)).toBe(true)
      expect(await lockOf().acquire(`${k}x`, undefined, 'c', 60_000)).toBe(true)
    })

    test('a lock is not an item, and clears leave it', async () => {
      const k = key()
      expect(await lockOf().acquire(k, 'r', 'a', 60_000)).toBe(true)
      expect(await ctx.handle.get(k, 'r')).toBeUndefined()
      expect(await ctx.handle.add(k, 'r', input(valueFor(ctx.caps, 'item')))).toBe(true)
      await ctx.handle.clearRegion('r')
      await ctx.handle.clear()
      expect(await lockOf().acquire(k, 'r', 'b', 60_000)).toBe(false)
    })

    test('a lock expires after its TTL (a crashed holder blocks no one for longer)', async () => {
      const k = key()
      expect(await lockOf().acquire(k, undefined, 'crashed', ctx.ttl)).toBe(true)
      await waitFor(async () => await lockOf().acquire(k, undefined, 'next', 60_000), {
        timeoutMs: ctx.expiryDeadlineMs,
        intervalMs: 50,
        message: 'the lock to expire',
      })
      expect(await lockOf().release(k, undefined, 'crashed')).toBe(false)
    })

    if (ctx.sharedStore) describeSharedLocks(ctx)
  })
}

/** Handles on one store: one cache name shares locks, two cache names do not. */
function describeSharedLocks(ctx: HandleSuiteContext): void {
  test('handles of one cache share locks; another cache has its own', async () => {
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
  })
}
