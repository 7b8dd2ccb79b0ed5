import { describe, expect, test } from 'vitest'
import { type HandleSuiteContext, input, isVersion, key, textOf, valueFor } from './handle-suite-context.js'

/** get / add / set / remove round trips, versions, getMany. */
export function describeBasics(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  describe('basics', () => {
    test('get of a missing key is undefined', async () => {
      expect(await ctx.handle.get(key(), undefined)).toBeUndefined()
      expect(await ctx.handle.get(key(), 'region')).toBeUndefined()
    })

    test('set then get returns the value and its metadata', async () => {
      const k = key()
      const written = input(valueFor(caps, 'hello'))
      const version = await ctx.handle.set(k, undefined, written)
      expect(isVersion(version)).toBe(true)
      const item = await ctx.handle.get(k, undefined)
      expect(textOf(caps, item)).toBe('hello')
      expect(item).toMatchObject({ mode: 'none', ttl: 0, expiresAt: 0, created: written.created, version })
    })

    test('every set gives a new version; an explicit version is stored as is', async () => {
      const k = key()
      const a = await ctx.handle.set(k, undefined, input(valueFor(caps, 'a')))
      const b = await ctx.handle.set(k, undefined, input(valueFor(caps, 'b')))
      expect(isVersion(b) && b !== a).toBe(true)
      expect(await ctx.handle.set(k, undefined, input(valueFor(caps, 'c'), 'none', 0, 42))).toBe(42)
      expect((await ctx.handle.get(k, undefined))?.version).toBe(42)
      const d = await ctx.handle.set(k, undefined, input(valueFor(caps, 'd')))
      expect(isVersion(d) && ![a, b, 42].includes(d)).toBe(true)
      expect((await ctx.handle.get(k, undefined))?.version).toBe(d)
      expect(textOf(caps, await ctx.handle.get(k, undefined))).toBe('d')
    })

    test('add writes only when the key is absent', async () => {
      const k = key()
      expect(await ctx.handle.add(k, undefined, input(valueFor(caps, 'first')))).toBe(true)
      expect(await ctx.handle.add(k, undefined, input(valueFor(caps, 'second')))).toBe(false)
      const item = await ctx.handle.get(k, undefined)
      expect(textOf(caps, item)).toBe('first')
      expect(isVersion(item?.version)).toBe(true)
      const other = key()
      expect(await ctx.handle.add(other, undefined, input(valueFor(caps, 'x'), 'none', 0, 7))).toBe(true)
      expect((await ctx.handle.get(other, undefined))?.version).toBe(7)
    })

    test('remove deletes the item and reports whether there was one', async () => {
      const k = key()
      await ctx.handle.set(k, undefined, input(valueFor(caps, 'v')))
      expect(await ctx.handle.remove(k, undefined)).toBe(true)
      expect(await ctx.handle.get(k, undefined)).toBeUndefined()
      expect(await ctx.handle.remove(k, undefined)).toBe(false)
      expect(await ctx.handle.add(k, undefined, input(valueFor(caps, 'again')))).toBe(true)
    })

    test('clear removes every item, with and without regions', async () => {
      const [a, b] = [key(), key()]
      await ctx.handle.set(a, undefined, input(valueFor(caps, 'a')))
      await ctx.handle.set(b, 'r1', input(valueFor(caps, 'b')))
      await ctx.handle.clear()
      expect(await ctx.handle.get(a, undefined)).toBeUndefined()
      expect(await ctx.handle.get(b, 'r1')).toBeUndefined()
      await ctx.handle.set(a, undefined, input(valueFor(caps, 'after')))
      expect(textOf(caps, await ctx.handle.get(a, undefined))).toBe('after')
    })

    if (ctx.has.getMany) {
      test('getMany returns items in the order of the keys', async () => {
        const getMany = ctx.handle.getMany!.bind(ctx.handle)
        const [a, b, c] = [key(), key(), key()]
        await ctx.handle.set(a, 'r', input(valueFor(caps, 'a')))
        await ctx.handle.set(c, 'r', input(valueFor(caps, 'c')))
        await ctx.handle.set(b, undefined, input(valueFor(caps, 'b-elsewhere')))
        const items = await getMany([c, b, a], 'r')
        expect(items.map((item) => textOf(caps, item))).toEqual(['c', undefined, 'a'])
        expect(await getMany([], 'r')).toEqual([])
      })
    } else {
      test('has no getMany (optional member absent)', () => expect(ctx.handle.getMany).toBeUndefined())
    }
    if (ctx.has.peek) describePeek(ctx)
  })
}

/** `peek` (optional): a read that changes nothing; the sliding group checks it does not extend. */
function describePeek(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  test('peek returns the item as get does, and undefined for a missing key', async () => {
    const k = key()
    const version = await ctx.handle.set(k, 'r', input(valueFor(caps, 'seen'), 'absolute', 60_000))
    const item = await ctx.handle.peek!(k, 'r')
    expect(item).toMatchObject({ mode: 'absolute', ttl: 60_000, version })
    expect(textOf(caps, item)).toBe('seen')
    expect(await ctx.handle.peek!(k, undefined)).toBeUndefined()
  })
}

/** Odd keys, and values of every kind the handle stores. */
export function describeKeysAndValues(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  describe('keys and values', () => {
    const oddKeys = [
      'a:b',
      'with space',
      'tab\tand\nnewline',
      'ünïcødé 键 🔑',
      '%3A%25:%',
      '{hash}tag',
      'x'.repeat(1024),
    ]
    test('odd keys round-trip and stay distinct', async () => {
      const prefix = key()
      for (const [i, k] of oddKeys.entries())
        await ctx.handle.set(prefix + k, undefined, input(valueFor(caps, `v${i}`)))
      for (const [i, k] of oddKeys.entries())
        expect(textOf(caps, await ctx.handle.get(prefix + k, undefined))).toBe(`v${i}`)
      expect(await ctx.handle.get(prefix, undefined)).toBeUndefined()
    })

    test('region a + key b:c is not region a:b + key c', async () => {
      const k = key()
      await ctx.handle.set(`b:${k}`, 'a', input(valueFor(caps, 'one')))
      await ctx.handle.set(k, 'a:b', input(valueFor(caps, 'two')))
      await ctx.handle.set(`a:b:${k}`, undefined, input(valueFor(caps, 'three')))
      expect(textOf(caps, await ctx.handle.get(`b:${k}`, 'a'))).toBe('one')
      expect(textOf(caps, await ctx.handle.get(k, 'a:b'))).toBe('two')
      expect(textOf(caps, await ctx.handle.get(`a:b:${k}`, undefined))).toBe('three')
      await ctx.handle.clearRegion('a')
      expect(await ctx.handle.get(`b:${k}`, 'a')).toBeUndefined()
      expect(textOf(caps, await ctx.handle.get(k, 'a:b'))).toBe('two')
    })

    if (caps.bytes) {
      describe('bytes (capabilities.bytes)', () => {
        const roundTrip = async (bytes: Uint8Array) => {
          const k = key()
          await ctx.handle.set(k, undefined, input(bytes))
          const item = await ctx.handle.get(k, undefined)
          expect(item?.value).toBeInstanceOf(Uint8Array)
          expect(Buffer.from(item?.value as Uint8Array).equals(Buffer.from(bytes))).toBe(true)
        }
        test('every byte value round-trips', () =>
          roundTrip(Uint8Array.from({ length: 512 }, (_, i) => i % 256)))
        test('NUL bytes round-trip', () => roundTrip(new Uint8Array([0, 0, 0x0a, 0x0d, 0, 0xff, 0])))
        test('a single NUL byte round-trips', () => roundTrip(new Uint8Array([0])))
        test('a large value round-trips', () =>
          roundTrip(Uint8Array.from({ length: ctx.largeValueBytes }, (_, i) => (i * 31 + (i >> 8)) % 256)))
      })
    } else {
      describe('objects (capabilities.bytes is false)', () => {
        test('does not claim bytes: values of any kind round-trip', async () => {
          expect(caps.bytes).toBe(false)
          const values: unknown[] = [0, '', false, null, { nested: [1, { deep: true }] }, new Map([[1, 2]])]
          const keys = values.map(() => key())
          for (const [i, value] of values.entries())
            await ctx.handle.set(keys[i] as string, undefined, input(value))
          for (const [i, value] of values.entries()) {
            expect((await ctx.handle.get(keys[i] as string, undefined))?.value).toEqual(value)
          }
        })
      })
    }
  })
}

/** Regions: the same key in two regions is two items; clearRegion touches one region only. */
export function describeRegions(ctx: HandleSuiteContext): void {
  const { caps } = ctx
  describe(`regions (clearRegion: ${caps.clearRegion})`, () => {
    test('the same key in two regions and in none is three items', async () => {
      const k = key()
      await ctx.handle.set(k, 'r1', input(valueFor(caps, 'one')))
      await ctx.handle.set(k, 'r2', input(valueFor(caps, 'two')))
      await ctx.handle.set(k, undefined, input(valueFor(caps, 'none')))
      expect(textOf(caps, await ctx.handle.get(k, 'r1'))).toBe('one')
      expect(textOf(caps, await ctx.handle.get(k, 'r2'))).toBe('two')
      expect(textOf(caps, await ctx.handle.get(k, undefined))).toBe('none')
      expect(await ctx.handle.remove(k, 'r1')).toBe(true)
      expect(await ctx.handle.get(k, 'r1')).toBeUndefined()
      expect(textOf(caps, await ctx.handle.get(k, 'r2'))).toBe('two')
      expect(await ctx.handle.add(k, 'r2', input(valueFor(caps, 'x')))).toBe(false)
      expect(await ctx.handle.add(k, 'r1', input(valueFor(caps, 'x')))).toBe(true)
    })

    test('clearRegion removes one region only', async () => {
      const [a, b] = [key(), key()]
      await ctx.handle.set(a, 'gone', input(valueFor(caps, 'a')))
      await ctx.handle.set(b, 'gone', input(valueFor(caps, 'b')))
      await ctx.handle.set(a, 'kept', input(valueFor(caps, 'kept')))
      await ctx.handle.set(a, undefined, input(valueFor(caps, 'no region')))
      await ctx.handle.set(a, 'gone2', input(valueFor(caps, 'prefix sibling')))
      await ctx.handle.clearRegion('gone')
      expect(await ctx.handle.get(a, 'gone')).toBeUndefined()
      expect(await ctx.handle.get(b, 'gone')).toBeUndefined()
      expect(textOf(caps, await ctx.handle.get(a, 'kept'))).toBe('kept')
      expect(textOf(caps, await ctx.handle.get(a, undefined))).toBe('no region')
      expect(textOf(caps, await ctx.handle.get(a, 'gone2'))).toBe('prefix sibling')
      await ctx.handle.set(a, 'gone', input(valueFor(caps, 'rewritten')))
      expect(textOf(caps, await ctx.handle.get(a, 'gone'))).toBe('rewritten')
      await ctx.handle.clearRegion('never-used')
    })
  })
}
