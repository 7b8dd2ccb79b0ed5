import { expect } from 'vitest'
import type { StoredItem } from '../contracts/cache-handle.js'
import type { HandleCheck } from './handle-check.js'
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

/**
 * Accesses the item every quarter TTL for two TTLs. Each access must find it as long
 * as the previous one was less than a TTL ago (a stalled machine skips the check).
 */
async function keepAlive(ctx: HandleSuiteContext, k: string, access: () => Promise<boolean>): Promise<void> {
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

/** Absolute TTL, expire(), long TTLs. Every handle must expire items. */
export const absoluteExpiryChecks: readonly HandleCheck[] = [
  {
    title: 'an item is returned until its TTL passes, then never again',
    async run(ctx) {
      const { caps } = ctx
      const k = key()
      const since = Date.now()
      const written = input(valueFor(caps, 'short'), 'absolute', ctx.ttl)
      await ctx.handle.set(k, 'r', written)
      const item = await ctx.handle.get(k, 'r')
      if (mustStillExist(ctx, since)) {
        expect(textOf(caps, item)).toBe('short')
        expect(item).toMatchObject({ mode: 'absolute', ttl: ctx.ttl })
        const drift = Math.abs((item as StoredItem).expiresAt - written.expiresAt)
        expect(drift).toBeLessThanOrEqual(caps.ttlGranularityMs)
      }
      await expectExpires(ctx, k, 'r')
      expect(await ctx.handle.get(k, 'r')).toBeUndefined()
    },
  },
  {
    title: 'add succeeds again once the item expired',
    async run(ctx) {
      const k = key()
      await ctx.handle.add(k, undefined, input(valueFor(ctx.caps, 'old'), 'absolute', ctx.ttl))
      await expectExpires(ctx, k, undefined)
      expect(await ctx.handle.add(k, undefined, input(valueFor(ctx.caps, 'new')))).toBe(true)
      expect(textOf(ctx.caps, await ctx.handle.get(k, undefined))).toBe('new')
    },
  },
  {
    title: 'a long TTL is kept (up to 60 days, or maxTtlMs)',
    async run({ handle, caps }) {
      const k = key()
      const ttl = Math.min(caps.maxTtlMs, 60 * DAY_MS)
      await handle.set(k, undefined, input(valueFor(caps, 'long'), 'absolute', ttl))
      const item = await handle.get(k, undefined)
      expect(textOf(caps, item)).toBe('long')
      expect(item?.mode).toBe('absolute')
    },
  },
  {
    title: 'expire() gives an item without expiry a TTL',
    async run(ctx) {
      const k = key()
      await ctx.handle.set(k, 'r', input(valueFor(ctx.caps, 'v')))
      const since = Date.now()
      expect(await ctx.handle.expire(k, 'r', 'absolute', ctx.ttl, since + ctx.ttl)).toBe(true)
      const item = await ctx.handle.get(k, 'r')
      if (mustStillExist(ctx, since)) expect(item).toMatchObject({ mode: 'absolute', ttl: ctx.ttl })
      await expectExpires(ctx, k, 'r')
    },
  },
  {
    title: 'expire() to none removes the expiry',
    async run({ handle, caps }) {
      const k = key()
      await handle.set(k, undefined, input(valueFor(caps, 'v'), 'absolute', 60_000))
      expect(await handle.expire(k, undefined, 'none', 0, 0)).toBe(true)
      expect(await handle.get(k, undefined)).toMatchObject({ mode: 'none', ttl: 0, expiresAt: 0 })
    },
  },
  {
    title: 'expire() of a missing item is false and creates nothing',
    async run({ handle }) {
      const k = key()
      expect(await handle.expire(k, undefined, 'absolute', 60_000, Date.now() + 60_000)).toBe(false)
      expect(await handle.get(k, undefined)).toBeUndefined()
    },
  },
]

const noSliding = (ctx: HandleSuiteContext) =>
  ctx.caps.sliding ? undefined : 'the handle has no sliding expiry (capabilities.sliding is false)'
const slidingAnd = (member: 'touch' | 'peek') => (ctx: HandleSuiteContext) =>
  noSliding(ctx) ?? (ctx.has[member] ? undefined : `the handle has no ${member}`)

/** Sliding expiry (capabilities.sliding), touch() and peek(). */
export const slidingExpiryChecks: readonly HandleCheck[] = [
  {
    title: 'each read extends the item; it expires once reads stop',
    skip: noSliding,
    async run(ctx) {
      const k = key()
      await ctx.handle.set(k, 'r', input(valueFor(ctx.caps, 'slide'), 'sliding', ctx.ttl))
      await keepAlive(ctx, k, async () => textOf(ctx.caps, await ctx.handle.get(k, 'r')) === 'slide')
      await expectExpiresUnread(ctx, k, 'r')
    },
  },
  {
    title: 'expire() can make an item sliding',
    skip: noSliding,
    async run(ctx) {
      const k = key()
      await ctx.handle.set(k, undefined, input(valueFor(ctx.caps, 'v')))
      expect(await ctx.handle.expire(k, undefined, 'sliding', ctx.ttl, Date.now() + ctx.ttl)).toBe(true)
      await keepAlive(ctx, k, async () => (await ctx.handle.get(k, undefined)) !== undefined)
      await expectExpiresUnread(ctx, k, undefined)
    },
  },
  {
    title: 'touch() extends a sliding item without reading it',
    skip: slidingAnd('touch'),
    async run(ctx) {
      const k = key()
      await ctx.handle.set(k, undefined, input(valueFor(ctx.caps, 'v'), 'sliding', ctx.ttl))
      await keepAlive(ctx, k, async () => (await ctx.handle.touch!(k, undefined)) === true)
      await expectExpiresUnread(ctx, k, undefined)
      expect(await ctx.handle.touch!(k, undefined)).toBe(false)
    },
  },
  {
    // Without peek, core's has() reads with get, which extends sliding items.
    title: 'peek() reads a sliding item without extending it',
    skip: slidingAnd('peek'),
    async run(ctx) {
      const k = key()
      await ctx.handle.set(k, undefined, input(valueFor(ctx.caps, 'v'), 'sliding', ctx.ttl))
      expect(textOf(ctx.caps, await ctx.handle.peek!(k, undefined))).toBe('v')
      // Peeked without pause, the item still expires: a peek that extended it would keep it forever.
      await waitFor(async () => (await ctx.handle.peek!(k, undefined)) === undefined, {
        timeoutMs: ctx.expiryDeadlineMs,
        intervalMs: 5,
        message: `sliding item ${k} to expire while only peeked at`,
      })
    },
  },
]
