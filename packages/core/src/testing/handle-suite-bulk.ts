import { describe, expect, test } from 'vitest'
import type { BulkEntry } from '../contracts/cache-handle.js'
import { type HandleSuiteContext, input, isVersion, key, textOf, valueFor } from './handle-suite-context.js'

/**
 * The optional bulk members (`getMany`, `setMany`, `removeMany`), sliced by presence: a
 * handle without one is reported with a skipped test saying core falls back to per-key
 * calls, so a missing member is visible and never fails the suite.
 */
export function describeBulk(ctx: HandleSuiteContext): void {
  describe('bulk', () => {
    if (ctx.has.getMany) describeGetMany(ctx)
    else test.skip('getMany (the handle has none: core reads key by key)', () => {})
    if (ctx.has.setMany) describeSetMany(ctx)
    else test.skip('setMany (the handle has none: core writes key by key)', () => {})
    if (ctx.has.removeMany) describeRemoveMany(ctx)
    else test.skip('removeMany (the handle has none: core removes key by key)', () => {})
    if (ctx.caps.synchronous) {
      test('claims synchronous: the bulk members do not return promises', () => {
        const h = ctx.handle
        const k = key()
        const results = [
          h.setMany?.([{ key: k, item: input(valueFor(ctx.caps, 'v')) }], 'r'),
          h.getMany?.([k], 'r'),
          h.removeMany?.([k], 'r'),
        ]
        for (const result of results) expect(result).not.toBeInstanceOf(Promise)
      })
    }
  })
}

function describeGetMany(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  test('getMany returns each key as get would, in order, scoped to its region', async () => {
    const [a, b, c] = [key(), key(), key()]
    await ctx.handle.set(a, 'r', input(valueFor(caps, 'a')))
    await ctx.handle.set(c, 'r', input(valueFor(caps, 'c'), 'absolute', 60_000))
    await ctx.handle.set(b, 'other', input(valueFor(caps, 'b')))
    const items = await ctx.handle.getMany!([c, b, a], 'r')
    expect(items.map((item) => textOf(caps, item))).toEqual(['c', undefined, 'a'])
    expect(items[0]).toEqual(await ctx.handle.get(c, 'r'))
    expect(await ctx.handle.getMany!([], 'r')).toEqual([])
  })
}

function describeSetMany(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  test('setMany writes every entry as set would and returns their versions in order', async () => {
    const [a, b, c] = [key(), key(), key()]
    await ctx.handle.set(b, 'r', input(valueFor(caps, 'old')))
    const entries: BulkEntry[] = [
      { key: a, item: input(valueFor(caps, 'a')) },
      { key: b, item: input(valueFor(caps, 'b'), 'absolute', 60_000) },
      { key: c, item: input(valueFor(caps, 'c'), 'none', 0, 42) },
    ]
    const versions = await ctx.handle.setMany!(entries, 'r')
    expect(versions).toHaveLength(3)
    expect(versions.every(isVersion)).toBe(true)
    expect(versions[2]).toBe(42) // an explicit version is stored as is
    expect(versions[0]).not.toBe(versions[1])
    for (const [i, k] of [a, b, c].entries()) {
      const item = await ctx.handle.get(k, 'r')
      expect(textOf(caps, item)).toBe(['a', 'b', 'c'][i])
      expect(item?.version).toBe(versions[i])
    }
    expect(await ctx.handle.get(a, undefined)).toBeUndefined() // another region
    expect(await ctx.handle.get(b, 'r')).toMatchObject({ mode: 'absolute', ttl: 60_000 })
    expect(await ctx.handle.setMany!([], 'r')).toEqual([])
  })
}

function describeRemoveMany(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  test('removeMany removes the keys of its region and counts those that existed', async () => {
    const [a, b, kept, absent] = [key(), key(), key(), key()]
    for (const k of [a, b, kept]) await ctx.handle.set(k, 'r', input(valueFor(caps, k)))
    await ctx.handle.set(a, 'other', input(valueFor(caps, 'a elsewhere')))
    expect(await ctx.handle.removeMany!([a, absent, b], 'r')).toBe(2)
    expect(await ctx.handle.get(a, 'r')).toBeUndefined()
    expect(await ctx.handle.get(b, 'r')).toBeUndefined()
    expect(textOf(caps, await ctx.handle.get(kept, 'r'))).toBe(kept)
    expect(textOf(caps, await ctx.handle.get(a, 'other'))).toBe('a elsewhere')
    expect(await ctx.handle.removeMany!([], 'r')).toBe(0)
  })
}
