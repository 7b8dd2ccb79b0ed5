import { describe, expect, test } from 'vitest'
import type { StoredItem } from '../contracts/cache-handle.js'
import {
  type HandleSuiteContext,
  input,
  key,
  mustStillExist,
  textOf,
  valueFor,
} from './handle-suite-context.js'
import { waitFor } from './wait-for.js'

const DAY_MS = 24 * 60 * 60 * 1000

/** Waits until the handle no longer returns the item. */
async function expectExpires(ctx: HandleSuiteContext, k: string, region: string | undefined): Promise<void> {
  await waitFor(async () => (await ctx.handle.get(k, region)) === undefined, {
    timeoutMs: ctx.expiryDeadlineMs,
    intervalMs: Math.max(20, Math.min(200, ctx.caps.ttlGranularityMs / 4)),
    message: `item ${k} to expire`,
  })
}

/**
 * For sliding items: every read extends them, so polling would keep them alive. Instead
 * nothing touches the item for longer than its TTL, then one read must miss. Waiting
 * longer (a slow machine) only makes the item more expired, so this cannot flake.
 */
async function expectExpiresUnread(
  ctx: HandleSuiteContext,
  k: string,
  region: string | undefined,
): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ctx.ttl + ctx.caps.ttlGranularityMs + 50))
  expect(await ctx.handle.get(k, region)).toBeUndefined()
}

/** Absolute TTL, expire(), long TTLs. Every handle must expire items. */
export function describeExpiry(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  describe(`absolute expiry (ttlGranularityMs: ${caps.ttlGranularityMs})`, () => {
    test('an item is returned until its TTL passes, then never again', async () => {
      const k = key()
      const since = Date.now()
      const written = input(valueFor(caps, 'short'), 'absolute', ctx.ttl)
      await ctx.handle.set(k, 'r', written)
      const item = await ctx.handle.get(k, 'r')
      if (mustStillExist(ctx, since)) {
        expect(textOf(caps, item)).toBe('short')
        expect(item).toMatchObject({ mode: 'absolute', ttl: ctx.ttl })
        expect(Math.abs((item as StoredItem).expiresAt - written.expiresAt)).toBeLessThanOrEqual(
          caps.ttlGranularityMs,
        )
      }
      await expectExpires(ctx, k, 'r')
      expect(await ctx.handle.get(k, 'r')).toBeUndefined()
    })

    test('add succeeds again once the item expired', async () => {
      const k = key()
      await ctx.handle.add(k, undefined, input(valueFor(caps, 'old'), 'absolute', ctx.ttl))
      await expectExpires(ctx, k, undefined)
      expect(await ctx.handle.add(k, undefined, input(valueFor(caps, 'new')))).toBe(true)
      expect(textOf(caps, await ctx.handle.get(k, undefined))).toBe('new')
    })

    test(`a long TTL is kept (maxTtlMs: ${caps.maxTtlMs})`, async () => {
      const k = key()
      const ttl = Math.min(caps.maxTtlMs, 60 * DAY_MS)
      await ctx.handle.set(k, undefined, input(valueFor(caps, 'long'), 'absolute', ttl))
      const item = await ctx.handle.get(k, undefined)
      expect(textOf(caps, item)).toBe('long')
      expect(item?.mode).toBe('absolute')
    })

    test('expire() gives an item without expiry a TTL', async () => {
      const k = key()
      await ctx.handle.set(k, 'r', input(valueFor(caps, 'v')))
      const since = Date.now()
      expect(await ctx.handle.expire(k, 'r', 'absolute', ctx.ttl, since + ctx.ttl)).toBe(true)
      const item = await ctx.handle.get(k, 'r')
      if (mustStillExist(ctx, since)) expect(item).toMatchObject({ mode: 'absolute', ttl: ctx.ttl })
      await expectExpires(ctx, k, 'r')
    })

    test('expire() to none removes the expiry', async () => {
      const k = key()
      await ctx.handle.set(k, undefined, input(valueFor(caps, 'v'), 'absolute', 60_000))
      expect(await ctx.handle.expire(k, undefined, 'none', 0, 0)).toBe(true)
      expect(await ctx.handle.get(k, undefined)).toMatchObject({ mode: 'none', ttl: 0, expiresAt: 0 })
    })

    test('expire() of a missing item is false and creates nothing', async () => {
      const k = key()
      expect(await ctx.handle.expire(k, undefined, 'absolute', 60_000, Date.now() + 60_000)).toBe(false)
      expect(await ctx.handle.get(k, undefined)).toBeUndefined()
    })
  })
}

/** Sliding expiry (capabilities.sliding) and touch(). */
export function describeSliding(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  if (!caps.sliding) {
    describe('sliding expiry (capabilities.sliding is false)', () => {
      test('does not claim sliding', () => expect(caps.sliding).toBe(false))
    })
    return
  }

  /**
   * Accesses the item every quarter TTL for two TTLs. Each access must find it as long
   * as the previous one was less than a TTL ago (a stalled machine skips the check).
   */
  const keepAlive = async (k: string, access: () => Promise<boolean>) => {
    const end = Date.now() + 2 * ctx.ttl
    let last = Date.now()
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, ctx.ttl / 4))
      const found = await access()
      if (mustStillExist(ctx, last)) expect(found, `item ${k} expired although it was used`).toBe(true)
      if (!found) return
      last = Date.now()
    }
  }

  describe('sliding expiry (capabilities.sliding)', () => {
    test('each read extends the item; it expires once reads stop', async () => {
      const k = key()
      await ctx.handle.set(k, 'r', input(valueFor(caps, 'slide'), 'sliding', ctx.ttl))
      await keepAlive(k, async () => textOf(caps, await ctx.handle.get(k, 'r')) === 'slide')
      await expectExpiresUnread(ctx, k, 'r')
    })

    test('expire() can make an item sliding', async () => {
      const k = key()
      await ctx.handle.set(k, undefined, input(valueFor(caps, 'v')))
      expect(await ctx.handle.expire(k, undefined, 'sliding', ctx.ttl, Date.now() + ctx.ttl)).toBe(true)
      await keepAlive(k, async () => (await ctx.handle.get(k, undefined)) !== undefined)
      await expectExpiresUnread(ctx, k, undefined)
    })

    if (ctx.has.touch) {
      test('touch() extends a sliding item without reading it', async () => {
        const k = key()
        await ctx.handle.set(k, undefined, input(valueFor(caps, 'v'), 'sliding', ctx.ttl))
        await keepAlive(k, async () => (await ctx.handle.touch!(k, undefined)) === true)
        await expectExpiresUnread(ctx, k, undefined)
        expect(await ctx.handle.touch!(k, undefined)).toBe(false)
      })
    } else {
      test('has no touch (optional member absent)', () => expect(ctx.handle.touch).toBeUndefined())
    }

    if (ctx.has.peek) {
      test('peek() reads a sliding item without extending it', async () => {
        const k = key()
        await ctx.handle.set(k, undefined, input(valueFor(caps, 'v'), 'sliding', ctx.ttl))
        expect(textOf(caps, await ctx.handle.peek!(k, undefined))).toBe('v')
        // Peeked without pause, the item still expires: a peek that extended it would keep it forever.
        await waitFor(async () => (await ctx.handle.peek!(k, undefined)) === undefined, {
          timeoutMs: ctx.expiryDeadlineMs,
          intervalMs: 5,
          message: `sliding item ${k} to expire while only peeked at`,
        })
      })
    }
  })
}
