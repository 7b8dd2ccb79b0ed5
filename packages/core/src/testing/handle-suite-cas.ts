import { describe, expect, test } from 'vitest'
import { type HandleSuiteContext, input, key, textOf, valueFor } from './handle-suite-context.js'

/** Version-based compare-and-set `update` (capabilities.cas). */
export function describeCas(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  if (!caps.cas) {
    describe('update (capabilities.cas is false)', () => {
      test('does not claim cas: core rejects update at the bottom for this handle', () => {
        expect(caps.cas).toBe(false)
      })
    })
    return
  }
  describe('update (capabilities.cas)', () => {
    test('writes when the expected version matches and bumps it', async () => {
      const k = key()
      const v1 = await ctx.handle.set(k, 'r', input(valueFor(caps, 'one')))
      expect(await ctx.handle.update(k, 'r', v1, input(valueFor(caps, 'two')))).toEqual({
        status: 'ok',
        version: v1 + 1,
      })
      const item = await ctx.handle.get(k, 'r')
      expect(textOf(caps, item)).toBe('two')
      expect(item?.version).toBe(v1 + 1)
    })

    test('reports a conflict for a stale version and leaves the item alone', async () => {
      const k = key()
      const v1 = await ctx.handle.set(k, undefined, input(valueFor(caps, 'one')))
      await ctx.handle.set(k, undefined, input(valueFor(caps, 'two')))
      expect(await ctx.handle.update(k, undefined, v1, input(valueFor(caps, 'stale')))).toEqual({
        status: 'conflict',
      })
      expect(textOf(caps, await ctx.handle.get(k, undefined))).toBe('two')
    })

    test('reports missing when there is no item (in that region)', async () => {
      const k = key()
      await ctx.handle.set(k, 'elsewhere', input(valueFor(caps, 'x')))
      expect(await ctx.handle.update(k, undefined, 1, input(valueFor(caps, 'y')))).toEqual({
        status: 'missing',
      })
      expect(await ctx.handle.update(k, 'r', 1, input(valueFor(caps, 'y')))).toEqual({ status: 'missing' })
      expect(await ctx.handle.get(k, undefined)).toBeUndefined()
    })

    test('stores an explicit version as is', async () => {
      const k = key()
      const v1 = await ctx.handle.set(k, undefined, input(valueFor(caps, 'one')))
      expect(await ctx.handle.update(k, undefined, v1, input(valueFor(caps, 'two'), 'none', 0, 100))).toEqual(
        {
          status: 'ok',
          version: 100,
        },
      )
      expect((await ctx.handle.get(k, undefined))?.version).toBe(100)
    })

    test('concurrent read-modify-write loops lose no increment', async () => {
      const k = key()
      await ctx.handle.set(k, undefined, input(valueFor(caps, '0')))
      const worker = async () => {
        for (let done = 0; done < 10; ) {
          const item = await ctx.handle.get(k, undefined)
          if (item === undefined) throw new Error('the counter disappeared')
          const next = String(Number(textOf(caps, item)) + 1)
          const outcome = await ctx.handle.update(k, undefined, item.version, input(valueFor(caps, next)))
          if (outcome.status === 'missing') throw new Error('the counter disappeared')
          if (outcome.status === 'ok') done++
        }
      }
      await Promise.all([worker(), worker(), worker(), worker()])
      expect(textOf(caps, await ctx.handle.get(k, undefined))).toBe('40')
    })
  })
}
