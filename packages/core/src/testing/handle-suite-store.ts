import { describe, expect, test } from 'vitest'
import { type HandleSuiteContext, input, key, textOf, valueFor } from './handle-suite-context.js'
import { randomKey, waitFor } from './wait-for.js'

/** Several handles on one store: one cache name shares, two cache names are scoped (`bind`). */
export function describeSharedStore(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  if (!ctx.sharedStore) {
    describe(`shared store (sharedStore: false${caps.distributed ? ', distributed sharing not exercised' : ''})`, () => {
      test('handles from two factory() calls are separate stores', async () => {
        const [one, two] = [await ctx.another(randomKey('cache')), await ctx.another(randomKey('cache'))]
        const k = key()
        await one.set(k, undefined, input(valueFor(caps, 'one')))
        expect(await two.get(k, undefined)).toBeUndefined()
      })
    })
    return
  }
  describe('shared store (bind)', () => {
    test('a handle on a shared store scopes its keys with bind', () => expect(ctx.has.bind).toBe(true))

    test('handles bound to the same cache name see each other', async () => {
      const name = randomKey('cache')
      const [one, two] = [await ctx.another(name), await ctx.another(name)]
      const k = key()
      await one.set(k, 'r', input(valueFor(caps, 'shared')))
      expect(textOf(caps, await two.get(k, 'r'))).toBe('shared')
      expect(await two.add(k, 'r', input(valueFor(caps, 'other')))).toBe(false)
      expect(await two.remove(k, 'r')).toBe(true)
      expect(await one.get(k, 'r')).toBeUndefined()
    })

    test('handles bound to different cache names do not see each other', async () => {
      const [one, two] = [await ctx.another(randomKey('cacheA')), await ctx.another(randomKey('cacheB'))]
      const k = key()
      await one.set(k, undefined, input(valueFor(caps, 'one')))
      expect(await two.get(k, undefined)).toBeUndefined()
      expect(await two.add(k, undefined, input(valueFor(caps, 'two')))).toBe(true)
      expect(textOf(caps, await one.get(k, undefined))).toBe('one')
      expect(textOf(caps, await two.get(k, undefined))).toBe('two')
    })

    if (ctx.has.onExternalClear) {
      test('onExternalClear reports clears made through another handle, not announced ones', async () => {
        const name = randomKey('cache')
        const [watcher, other] = [await ctx.another(name), await ctx.another(name)]
        const reports: Array<string | undefined> = []
        const off = watcher.onExternalClear!((region) => reports.push(region))
        const k = key()
        for (const region of ['announced', 'unannounced', undefined]) {
          await other.set(k, region, input(valueFor(caps, 'v')))
          expect(textOf(caps, await watcher.get(k, region))).toBe('v')
        }
        await other.clearRegion('announced')
        await watcher.onRemoteClear?.('announced')
        await other.clearRegion('unannounced')
        await waitFor(() => reports.includes('unannounced'), {
          timeoutMs: ctx.externalClearWithinMs,
          message: 'the unannounced region clear to be reported',
        })
        await other.clear()
        await waitFor(() => reports.includes(undefined), {
          timeoutMs: ctx.externalClearWithinMs,
          message: 'the unannounced clear to be reported',
        })
        off()
        expect(reports).not.toContain('announced')
        expect(await watcher.get(k, 'unannounced')).toBeUndefined()
      })
    } else {
      test.skip('onExternalClear reports clears made through another handle (the handle has no onExternalClear)', () => {})
    }

    test('clear and clearRegion of one cache leave the other intact', async () => {
      const [one, two] = [await ctx.another(randomKey('cacheA')), await ctx.another(randomKey('cacheB'))]
      const [a, b] = [key(), key()]
      for (const handle of [one, two]) {
        await handle.set(a, 'r', input(valueFor(caps, 'in region')))
        await handle.set(b, undefined, input(valueFor(caps, 'no region')))
      }
      await one.clearRegion('r')
      expect(await one.get(a, 'r')).toBeUndefined()
      expect(textOf(caps, await two.get(a, 'r'))).toBe('in region')
      await one.clear()
      expect(await one.get(b, undefined)).toBeUndefined()
      expect(textOf(caps, await two.get(b, undefined))).toBe('no region')
      expect(textOf(caps, await two.get(a, 'r'))).toBe('in region')
    })
  })
}

/** Declared synchrony, eviction listeners, close. */
export function describeLifecycle(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  describe('lifecycle', () => {
    if (caps.synchronous) {
      test('claims synchronous: no operation returns a promise', () => {
        const h = ctx.handle
        const k = key()
        const results: unknown[] = [
          h.set(k, 'r', input(valueFor(caps, 'v'))),
          h.get(k, 'r'),
          h.add(key(), 'r', input(valueFor(caps, 'v'))),
          h.update(k, 'r', 1, input(valueFor(caps, 'w'))),
          h.expire(k, 'r', 'absolute', 60_000, Date.now() + 60_000),
          h.touch?.(k, 'r'),
          h.getMany?.([k], 'r'),
          h.remove(k, 'r'),
          h.clearRegion('r'),
          h.clear(),
        ]
        for (const result of results) expect(result).not.toBeInstanceOf(Promise)
      })
    } else {
      test('does not claim synchronous', () => expect(caps.synchronous).toBe(false))
    }

    if (ctx.has.onEvict) {
      test('onEvict returns an unsubscribe function', () => {
        const off = ctx.handle.onEvict!(() => {})
        expect(typeof off).toBe('function')
        off()
        off()
      })
    }

    test('close resolves', async () => {
      await ctx.handle.set(key(), undefined, input(valueFor(caps, 'v')))
      await expect(Promise.resolve(ctx.closeHandle())).resolves.toBeUndefined()
    })
  })
}
