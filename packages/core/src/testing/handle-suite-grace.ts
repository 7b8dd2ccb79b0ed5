import { describe, expect, test } from 'vitest'
import type { StoredItem } from '../contracts/cache-handle.js'
import { type HandleSuiteContext, input, key, textOf, valueFor } from './handle-suite-context.js'
import { waitFor } from './wait-for.js'

/**
 * Grace (capabilities.grace): an item written with `grace` stays stored past `expiresAt`,
 * is returned with its own `expiresAt` and `grace` until `expiresAt + grace`, then never
 * again. Core decides whether such an item is served; the handle only keeps it.
 */
export function describeGrace(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  if (caps.grace !== true) {
    describe('grace (capabilities.grace is absent)', () => {
      test('does not claim grace: core passes none, items end at expiresAt', () =>
        expect(caps.grace === true).toBe(false))
    })
    return
  }
  const step = Math.max(1, caps.ttlGranularityMs)
  const grace = 3 * ctx.ttl

  describe('grace (capabilities.grace)', () => {
    test('an item is returned past expiresAt with its grace, until expiresAt + grace', async () => {
      const k = key()
      const written = { ...input(valueFor(caps, 'graced'), 'absolute', ctx.ttl), grace }
      await ctx.handle.set(k, 'r', written)
      // Waiting longer than planned only moves the read later in the grace window, or past
      // it; the check below is skipped then, so a stalled machine cannot fail it.
      await new Promise((resolve) => setTimeout(resolve, ctx.ttl + step + 50))
      const item = await ctx.handle.get(k, 'r')
      if (Date.now() < written.expiresAt + grace - 2 * step) {
        expect(textOf(caps, item)).toBe('graced')
        expect(item).toMatchObject({ mode: 'absolute', grace })
        expect(Math.abs((item as StoredItem).expiresAt - written.expiresAt)).toBeLessThanOrEqual(step)
      }
      await waitFor(async () => (await ctx.handle.get(k, 'r')) === undefined, {
        timeoutMs: grace + ctx.expiryDeadlineMs,
        intervalMs: Math.max(20, Math.min(200, step / 4)),
        message: `graced item ${k} to end`,
      })
    })

    test('an item without grace carries none', async () => {
      const k = key()
      await ctx.handle.set(k, undefined, input(valueFor(caps, 'plain'), 'absolute', 60_000))
      const item = await ctx.handle.get(k, undefined)
      expect(item?.grace ?? 0).toBe(0)
    })

    test('an item in its grace window is present: add refuses it, update replaces it', async () => {
      const k = key()
      await ctx.handle.set(k, undefined, {
        ...input(valueFor(caps, 'old'), 'absolute', ctx.ttl),
        grace: 60_000,
      })
      await new Promise((resolve) => setTimeout(resolve, ctx.ttl + step + 50))
      const stale = await ctx.handle.get(k, undefined)
      expect(textOf(caps, stale)).toBe('old')
      expect(await ctx.handle.add(k, undefined, input(valueFor(caps, 'new')))).toBe(false)
      if (caps.cas) {
        const outcome = await ctx.handle.update(k, undefined, stale!.version, input(valueFor(caps, 'new')))
        expect(outcome.status).toBe('ok')
        expect(textOf(caps, await ctx.handle.get(k, undefined))).toBe('new')
      }
    })
  })
}
