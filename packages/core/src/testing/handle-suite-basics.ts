import { expect } from 'vitest'
import type { HandleCheck } from './handle-check.js'
import { type HandleSuiteContext, input, isVersion, key, textOf, valueFor } from './handle-suite-context.js'

const noMember = (member: 'getMany' | 'peek' | 'barrier') => (ctx: HandleSuiteContext) =>
  ctx.has[member] ? undefined : `the handle has no ${member}`

/** get / add / set / remove / clear round trips and the versions they assign. */
export const basicsChecks: readonly HandleCheck[] = [
  {
    title: 'get of a missing key is undefined',
    async run(ctx) {
      expect(await ctx.handle.get(key(), undefined)).toBeUndefined()
      expect(await ctx.handle.get(key(), 'region')).toBeUndefined()
    },
  },
  {
    title: 'set then get returns the value and its metadata',
    async run({ handle, caps }) {
      const k = key()
      const written = input(valueFor(caps, 'hello'))
      const version = await handle.set(k, undefined, written)
      expect(isVersion(version)).toBe(true)
      const item = await handle.get(k, undefined)
      expect(textOf(caps, item)).toBe('hello')
      expect(item).toMatchObject({ mode: 'none', ttl: 0, expiresAt: 0, created: written.created, version })
    },
  },
  {
    title: 'every set gives a new version; an explicit version is stored as is',
    async run({ handle, caps }) {
      const k = key()
      const a = await handle.set(k, undefined, input(valueFor(caps, 'a')))
      const b = await handle.set(k, undefined, input(valueFor(caps, 'b')))
      expect(isVersion(b) && b !== a).toBe(true)
      expect(await handle.set(k, undefined, input(valueFor(caps, 'c'), 'none', 0, 42))).toBe(42)
      expect((await handle.get(k, undefined))?.version).toBe(42)
      const d = await handle.set(k, undefined, input(valueFor(caps, 'd')))
      expect(isVersion(d) && ![a, b, 42].includes(d)).toBe(true)
      expect((await handle.get(k, undefined))?.version).toBe(d)
      expect(textOf(caps, await handle.get(k, undefined))).toBe('d')
    },
  },
  {
    title: 'add writes only when the key is absent',
    async run({ handle, caps }) {
      const k = key()
      expect(await handle.add(k, undefined, input(valueFor(caps, 'first')))).toBe(true)
      expect(await handle.add(k, undefined, input(valueFor(caps, 'second')))).toBe(false)
      const item = await handle.get(k, undefined)
      expect(textOf(caps, item)).toBe('first')
      expect(isVersion(item?.version)).toBe(true)
      const other = key()
      expect(await handle.add(other, undefined, input(valueFor(caps, 'x'), 'none', 0, 7))).toBe(true)
      expect((await handle.get(other, undefined))?.version).toBe(7)
    },
  },
  {
    title: 'remove deletes the item and reports whether there was one',
    async run({ handle, caps }) {
      const k = key()
      await handle.set(k, undefined, input(valueFor(caps, 'v')))
      expect(await handle.remove(k, undefined)).toBe(true)
      expect(await handle.get(k, undefined)).toBeUndefined()
      expect(await handle.remove(k, undefined)).toBe(false)
      expect(await handle.add(k, undefined, input(valueFor(caps, 'again')))).toBe(true)
    },
  },
  {
    title: 'clear removes every item, with and without regions',
    async run({ handle, caps }) {
      const [a, b] = [key(), key()]
      await handle.set(a, undefined, input(valueFor(caps, 'a')))
      await handle.set(b, 'r1', input(valueFor(caps, 'b')))
      await handle.clear()
      expect(await handle.get(a, undefined)).toBeUndefined()
      expect(await handle.get(b, 'r1')).toBeUndefined()
      await handle.set(a, undefined, input(valueFor(caps, 'after')))
      expect(textOf(caps, await handle.get(a, undefined))).toBe('after')
    },
  },
  {
    title: 'getMany returns items in the order of the keys',
    skip: noMember('getMany'),
    async run({ handle, caps }) {
      const getMany = handle.getMany!.bind(handle)
      const [a, b, c] = [key(), key(), key()]
      await handle.set(a, 'r', input(valueFor(caps, 'a')))
      await handle.set(c, 'r', input(valueFor(caps, 'c')))
      await handle.set(b, undefined, input(valueFor(caps, 'b-elsewhere')))
      const items = await getMany([c, b, a], 'r')
      expect(items.map((item) => textOf(caps, item))).toEqual(['c', undefined, 'a'])
      expect(await getMany([], 'r')).toEqual([])
    },
  },
  {
    // Core calls it after a failed clear, to learn when that clear can no longer land.
    title: 'barrier answers, with writes in flight and on an idle handle',
    skip: noMember('barrier'),
    async run({ handle, caps }) {
      const keys = Array.from({ length: 20 }, () => key())
      const writes = keys.map((k) => handle.set(k, 'r', input(valueFor(caps, k))))
      await handle.barrier!()
      await Promise.all(writes)
      for (const k of keys) expect(textOf(caps, await handle.get(k, 'r'))).toBe(k)
      await handle.barrier!()
    },
  },
  {
    // A read that changes nothing; the sliding group checks that it does not extend.
    title: 'peek returns the item as get does, and undefined for a missing key',
    skip: noMember('peek'),
    async run({ handle, caps }) {
      const k = key()
      const version = await handle.set(k, 'r', input(valueFor(caps, 'seen'), 'absolute', 60_000))
      const item = await handle.peek!(k, 'r')
      expect(item).toMatchObject({ mode: 'absolute', ttl: 60_000, version })
      expect(textOf(caps, item)).toBe('seen')
      expect(await handle.peek!(k, undefined)).toBeUndefined()
    },
  },
]

const byteRoundTrip = (title: string, bytes: (ctx: HandleSuiteContext) => Uint8Array): HandleCheck => ({
  title,
  skip: (ctx) => (ctx.caps.bytes ? undefined : 'the handle stores objects (capabilities.bytes is false)'),
  async run(ctx) {
    const k = key()
    const written = bytes(ctx)
    await ctx.handle.set(k, undefined, input(written))
    const item = await ctx.handle.get(k, undefined)
    expect(item?.value).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(item?.value as Uint8Array).equals(Buffer.from(written))).toBe(true)
  },
})

const oddKeys = [
  'a:b',
  'with space',
  'tab\tand\nnewline',
  'ünïcødé 键 🔑',
  '%3A%25:%',
  '{hash}tag',
  'x'.repeat(1024),
]

/** Odd keys, and values of every kind the handle stores. */
export const keysAndValuesChecks: readonly HandleCheck[] = [
  {
    title: 'odd keys round-trip and stay distinct',
    async run({ handle, caps }) {
      const prefix = key()
      for (const [i, k] of oddKeys.entries())
        await handle.set(prefix + k, undefined, input(valueFor(caps, `v${i}`)))
      for (const [i, k] of oddKeys.entries())
        expect(textOf(caps, await handle.get(prefix + k, undefined))).toBe(`v${i}`)
      expect(await handle.get(prefix, undefined)).toBeUndefined()
    },
  },
  {
    title: 'region a + key b:c is not region a:b + key c',
    async run({ handle, caps }) {
      const k = key()
      await handle.set(`b:${k}`, 'a', input(valueFor(caps, 'one')))
      await handle.set(k, 'a:b', input(valueFor(caps, 'two')))
      await handle.set(`a:b:${k}`, undefined, input(valueFor(caps, 'three')))
      expect(textOf(caps, await handle.get(`b:${k}`, 'a'))).toBe('one')
      expect(textOf(caps, await handle.get(k, 'a:b'))).toBe('two')
      expect(textOf(caps, await handle.get(`a:b:${k}`, undefined))).toBe('three')
      await handle.clearRegion('a')
      expect(await handle.get(`b:${k}`, 'a')).toBeUndefined()
      expect(textOf(caps, await handle.get(k, 'a:b'))).toBe('two')
    },
  },
  byteRoundTrip('bytes: every byte value round-trips', () =>
    Uint8Array.from({ length: 512 }, (_, i) => i % 256),
  ),
  byteRoundTrip('bytes: NUL bytes round-trip', () => new Uint8Array([0, 0, 0x0a, 0x0d, 0, 0xff, 0])),
  byteRoundTrip('bytes: a single NUL byte round-trips', () => new Uint8Array([0])),
  byteRoundTrip('bytes: a large value round-trips', (ctx) =>
    Uint8Array.from({ length: ctx.largeValueBytes }, (_, i) => (i * 31 + (i >> 8)) % 256),
  ),
  {
    title: 'copiesBytes: an array written by set, add, update or setMany can be reused at once',
    skip: (ctx) =>
      ctx.caps.bytes && ctx.caps.copiesBytes === true
        ? undefined
        : 'the handle may keep the arrays it is given (capabilities.copiesBytes is not true)',
    async run({ handle, caps }) {
      const originals = new Map<string, Uint8Array>()
      // Writes a fresh array under `k`, then reuses the array as a caller may once told it is copied.
      const writeThenReuse = async (k: string, write: (bytes: Uint8Array) => unknown): Promise<void> => {
        const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + originals.size) % 256)
        originals.set(k, Uint8Array.from(bytes))
        await write(bytes)
        bytes.fill(0xee)
      }
      const [a, b, c, d] = [key(), key(), key(), key()]
      await writeThenReuse(a, (bytes) => handle.set(a, undefined, input(bytes)))
      await writeThenReuse(b, (bytes) => handle.add(b, undefined, input(bytes)))
      if (caps.cas) {
        const version = await handle.set(c, undefined, input(new Uint8Array([1])))
        await writeThenReuse(c, (bytes) => handle.update(c, undefined, version, input(bytes)))
      }
      const setMany = handle.setMany?.bind(handle)
      if (setMany !== undefined)
        await writeThenReuse(d, (bytes) => setMany([{ key: d, item: input(bytes) }], undefined))
      for (const [k, original] of originals) {
        const item = await handle.get(k, undefined)
        expect(Buffer.from(item?.value as Uint8Array).equals(Buffer.from(original))).toBe(true)
      }
    },
  },
  {
    title: 'objects: values of any kind round-trip',
    skip: (ctx) => (ctx.caps.bytes ? 'the handle stores bytes (capabilities.bytes)' : undefined),
    async run({ handle }) {
      const values: unknown[] = [0, '', false, null, { nested: [1, { deep: true }] }, new Map([[1, 2]])]
      const keys = values.map(() => key())
      for (const [i, value] of values.entries()) await handle.set(keys[i] as string, undefined, input(value))
      for (const [i, value] of values.entries())
        expect((await handle.get(keys[i] as string, undefined))?.value).toEqual(value)
    },
  },
]

/** Regions: the same key in two regions is two items; clearRegion touches one region only. */
export const regionChecks: readonly HandleCheck[] = [
  {
    title: 'the same key in two regions and in none is three items',
    async run({ handle, caps }) {
      const k = key()
      await handle.set(k, 'r1', input(valueFor(caps, 'one')))
      await handle.set(k, 'r2', input(valueFor(caps, 'two')))
      await handle.set(k, undefined, input(valueFor(caps, 'none')))
      expect(textOf(caps, await handle.get(k, 'r1'))).toBe('one')
      expect(textOf(caps, await handle.get(k, 'r2'))).toBe('two')
      expect(textOf(caps, await handle.get(k, undefined))).toBe('none')
      expect(await handle.remove(k, 'r1')).toBe(true)
      expect(await handle.get(k, 'r1')).toBeUndefined()
      expect(textOf(caps, await handle.get(k, 'r2'))).toBe('two')
      expect(await handle.add(k, 'r2', input(valueFor(caps, 'x')))).toBe(false)
      expect(await handle.add(k, 'r1', input(valueFor(caps, 'x')))).toBe(true)
    },
  },
  {
    title: 'clearRegion removes one region only',
    async run({ handle, caps }) {
      const [a, b] = [key(), key()]
      await handle.set(a, 'gone', input(valueFor(caps, 'a')))
      await handle.set(b, 'gone', input(valueFor(caps, 'b')))
      await handle.set(a, 'kept', input(valueFor(caps, 'kept')))
      await handle.set(a, undefined, input(valueFor(caps, 'no region')))
      await handle.set(a, 'gone2', input(valueFor(caps, 'prefix sibling')))
      await handle.clearRegion('gone')
      expect(await handle.get(a, 'gone')).toBeUndefined()
      expect(await handle.get(b, 'gone')).toBeUndefined()
      expect(textOf(caps, await handle.get(a, 'kept'))).toBe('kept')
      expect(textOf(caps, await handle.get(a, undefined))).toBe('no region')
      expect(textOf(caps, await handle.get(a, 'gone2'))).toBe('prefix sibling')
      await handle.set(a, 'gone', input(valueFor(caps, 'rewritten')))
      expect(textOf(caps, await handle.get(a, 'gone'))).toBe('rewritten')
      await handle.clearRegion('never-used')
    },
  },
]
