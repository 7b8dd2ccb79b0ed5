import { expect } from 'vitest'
import type { StoredItem } from '../contracts/cache-handle.js'
import type { HandleCheck } from './handle-check.js'
import { type HandleSuiteContext, input, key, textOf, valueFor } from './handle-suite-context.js'
import { waitFor } from './wait-for.js'

// Without the capability core passes no grace and items end at expiresAt: nothing to check.
const noGrace = (ctx: HandleSuiteContext) =>
  ctx.caps.grace === true ? undefined : 'the handle keeps no grace (capabilities.grace is absent)'
const step = (ctx: HandleSuiteContext) => Math.max(1, ctx.caps.ttlGranularityMs)
const pastExpiry = (ctx: HandleSuiteContext) =>
  new Promise((resolve) => setTimeout(resolve, ctx.ttl + step(ctx) + 50))

/** A new key holding 'old', written with a long grace and now past its expiry: stale. */
async function staleItem(ctx: HandleSuiteContext): Promise<string> {
  const k = key()
  await ctx.handle.set(k, undefined, {
    ...input(valueFor(ctx.caps, 'old'), 'absolute', ctx.ttl),
    grace: 60_000,
  })
  await pastExpiry(ctx)
  return k
}

/**
 * Grace (capabilities.grace): an item written with `grace` stays stored past `expiresAt`,
 * is returned with its own `expiresAt` and `grace` until `expiresAt + grace`, then never
 * again. Core decides whether such an item is served; the handle only keeps it.
 */
export const graceChecks: readonly HandleCheck[] = [
  {
    title: 'an item is returned past expiresAt with its grace, until expiresAt + grace',
    skip: noGrace,
    async run(ctx) {
      const { caps } = ctx
      const k = key()
      const grace = 3 * ctx.ttl
      const written = { ...input(valueFor(caps, 'graced'), 'absolute', ctx.ttl), grace }
      await ctx.handle.set(k, 'r', written)
      // Waiting longer than planned only moves the read later in the grace window, or past
      // it; the check below is skipped then, so a stalled machine cannot fail it.
      await pastExpiry(ctx)
      const item = await ctx.handle.get(k, 'r')
      if (Date.now() < written.expiresAt + grace - 2 * step(ctx)) {
        expect(textOf(caps, item)).toBe('graced')
        expect(item).toMatchObject({ mode: 'absolute', grace })
        expect(Math.abs((item as StoredItem).expiresAt - written.expiresAt)).toBeLessThanOrEqual(step(ctx))
      }
      await waitFor(async () => (await ctx.handle.get(k, 'r')) === undefined, {
        timeoutMs: grace + ctx.expiryDeadlineMs,
        intervalMs: Math.max(20, Math.min(200, step(ctx) / 4)),
        message: `graced item ${k} to end`,
      })
    },
  },
  {
    title: 'an item without grace carries none',
    skip: noGrace,
    async run({ handle, caps }) {
      const k = key()
      await handle.set(k, undefined, input(valueFor(caps, 'plain'), 'absolute', 60_000))
      const item = await handle.get(k, undefined)
      expect(item?.grace ?? 0).toBe(0)
    },
  },
  {
    title: 'an item in its grace window is present: add refuses it, update replaces it',
    skip: noGrace,
    async run(ctx) {
      const { handle, caps } = ctx
      const k = await staleItem(ctx)
      const stale = await handle.get(k, undefined)
      expect(textOf(caps, stale)).toBe('old')
      expect(await handle.add(k, undefined, input(valueFor(caps, 'new')))).toBe(false)
      if (caps.cas) {
        const outcome = await handle.update(k, undefined, stale!.version, input(valueFor(caps, 'new')))
        expect(outcome.status).toBe('ok')
        expect(textOf(caps, await handle.get(k, undefined))).toBe('new')
      }
    },
  },
  {
    title: "expire keeps an item's grace, through a `none` expiry and back to `absolute`",
    skip: noGrace,
    async run({ handle, caps }) {
      const k = key()
      const grace = 60_000
      await handle.set(k, undefined, { ...input(valueFor(caps, 'graced'), 'absolute', 60_000), grace })
      expect(await handle.expire(k, undefined, 'none', 0, 0)).toBe(true)
      expect(await handle.expire(k, undefined, 'absolute', 60_000, Date.now() + 60_000)).toBe(true)
      expect(await handle.get(k, undefined)).toMatchObject({ mode: 'absolute', grace })
    },
  },
  {
    title: 'expire refuses an item in its grace window: re-timing it would revive an expired value',
    skip: noGrace,
    async run(ctx) {
      const { handle, caps } = ctx
      const k = await staleItem(ctx)
      expect(await handle.expire(k, undefined, 'none', 0, 0)).toBe(false)
      const stale = await handle.get(k, undefined)
      expect(textOf(caps, stale)).toBe('old') // still kept for its grace, still past its expiry
      expect(stale!.expiresAt).toBeLessThanOrEqual(Date.now())
    },
  },
]
