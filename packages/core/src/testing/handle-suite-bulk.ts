import { expect } from 'vitest'
import type { BulkEntry } from '../contracts/cache-handle.js'
import type { HandleCheck } from './handle-check.js'
import { type HandleSuiteContext, input, isVersion, key, textOf, valueFor } from './handle-suite-context.js'

/** A check of an optional bulk member runs only when the handle has it (core falls back to per-key calls). */
const lacks = (member: 'getMany' | 'setMany' | 'removeMany', fallback: string) => (ctx: HandleSuiteContext) =>
  ctx.has[member] ? undefined : `the handle has no ${member}: core ${fallback} key by key`

/** The optional bulk members (`getMany`, `setMany`, `removeMany`). */
export const bulkChecks: readonly HandleCheck[] = [
  {
    title: 'getMany returns each key as get would, in order, scoped to its region',
    skip: lacks('getMany', 'reads'),
    async run(ctx) {
      const { caps } = ctx
      const [a, b, c] = [key(), key(), key()]
      await ctx.handle.set(a, 'r', input(valueFor(caps, 'a')))
      await ctx.handle.set(c, 'r', input(valueFor(caps, 'c'), 'absolute', 60_000))
      await ctx.handle.set(b, 'other', input(valueFor(caps, 'b')))
      const items = await ctx.handle.getMany!([c, b, a], 'r')
      expect(items.map((item) => textOf(caps, item))).toEqual(['c', undefined, 'a'])
      expect(items[0]).toEqual(await ctx.handle.get(c, 'r'))
      expect(await ctx.handle.getMany!([], 'r')).toEqual([])
    },
  },
  {
    title: 'setMany writes every entry as set would and returns their versions in order',
    skip: lacks('setMany', 'writes'),
    async run(ctx) {
      const { caps } = ctx
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
    },
  },
  {
    title: 'removeMany removes the keys of its region and counts those that existed',
    skip: lacks('removeMany', 'removes'),
    async run(ctx) {
      const { caps } = ctx
      const [a, b, kept, absent] = [key(), key(), key(), key()]
      for (const k of [a, b, kept]) await ctx.handle.set(k, 'r', input(valueFor(caps, k)))
      await ctx.handle.set(a, 'other', input(valueFor(caps, 'a elsewhere')))
      expect(await ctx.handle.removeMany!([a, absent, b], 'r')).toBe(2)
      expect(await ctx.handle.get(a, 'r')).toBeUndefined()
      expect(await ctx.handle.get(b, 'r')).toBeUndefined()
      expect(textOf(caps, await ctx.handle.get(kept, 'r'))).toBe(kept)
      expect(textOf(caps, await ctx.handle.get(a, 'other'))).toBe('a elsewhere')
      expect(await ctx.handle.removeMany!([], 'r')).toBe(0)
    },
  },
  {
    title: 'claims synchronous: the bulk members do not return promises',
    skip: (ctx) =>
      !ctx.caps.synchronous
        ? 'the handle does not claim synchronous'
        : ctx.has.getMany || ctx.has.setMany || ctx.has.removeMany
          ? undefined
          : 'the handle has no bulk member',
    async run(ctx) {
      const h = ctx.handle
      const k = key()
      const results = [
        h.setMany?.([{ key: k, item: input(valueFor(ctx.caps, 'v')) }], 'r'),
        h.getMany?.([k], 'r'),
        h.removeMany?.([k], 'r'),
      ]
      for (const result of results) expect(result).not.toBeInstanceOf(Promise)
    },
  },
]
