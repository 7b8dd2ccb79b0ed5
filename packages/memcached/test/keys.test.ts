import { afterEach, describe, expect, it } from 'vitest'
import { generationSegment, isFitKey, KeyLayout, maxKeyBytes } from '../src/key-layout.js'
import { boundHandle, item, rawClient, storedKeyOf, text } from './helpers.js'

const oddKeys = [
  'x'.repeat(300),
  'with spaces in it',
  'line\nbreak',
  'tab\tand\u0000nul',
  'ünïcødé-キー-🔑',
  '🔑'.repeat(70), // 280 bytes of UTF-8 in 140 UTF-16 units
  ':',
  'a:b:c',
  '%H',
  '%25%3A',
  '',
]

describe('key layout', () => {
  const layout = new KeyLayout('cacheplane:', 'users')
  const gen = generationSegment(1_700_000_000_000, 1_700_000_000_005)

  it('keeps readable keys as <prefix><cache>:<generation>:<region>:<key>', () => {
    expect(layout.itemKey(generationSegment(35, undefined), undefined, 'k')).toBe('cacheplane:users:z::k')
    expect(layout.itemKey(generationSegment(35, 36), 'eu', 'k')).toBe('cacheplane:users:z.10:eu:k')
    expect(layout.cacheGenerationKey).toBe('cacheplane:users:gen')
    expect(layout.regionGenerationKey('eu')).toBe('cacheplane:users:gen:eu')
  })

  it('never lets a region and a key run into each other', () => {
    expect(layout.itemKey(gen, 'a', 'b:c')).not.toBe(layout.itemKey(gen, 'a:b', 'c'))
    expect(layout.itemKey(gen, undefined, 'a:b')).not.toBe(layout.itemKey(gen, 'a', 'b'))
    expect(layout.regionGenerationKey('a:b')).not.toBe(`${layout.cacheGenerationKey}:a:b`)
  })

  it('hashes keys that are too long or hold spaces or control characters, keeping them distinct', () => {
    const keys = oddKeys.flatMap((key) => [
      layout.itemKey(gen, undefined, key),
      layout.itemKey(gen, 'r', key),
    ])
    for (const key of keys) expect(isFitKey(key), key).toBe(true)
    expect(new Set(keys).size).toBe(keys.length)
    const long = layout.itemKey(gen, undefined, 'x'.repeat(300))
    expect(long).toMatch(/^cacheplane:users:[0-9a-z.]+:%H[A-Za-z0-9_-]{43}$/)
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(maxKeyBytes)
    // Readable keys stay readable.
    expect(layout.itemKey(gen, undefined, 'ünïcødé-キー-🔑')).toContain('ünïcødé-キー-🔑')
  })

  it('builds the same keys through itemKeyAt (its cached head follows generation changes)', () => {
    const fresh = new KeyLayout('cacheplane:', 'users')
    // 83 UTF-16 units of 3-byte characters: the longest key itemKeyAt does not measure.
    const keys = [...oddKeys, 'plain', '€'.repeat(83 - 'cacheplane:users:z::'.length), '€'.repeat(80)]
    for (const cacheGeneration of [35, 36, 35, 1_700_000_000_000]) {
      for (const region of [undefined, 'eu', 'a:b', 'region with space']) {
        for (const regionGeneration of region === undefined ? [undefined] : [36, 1_700_000_000_005]) {
          for (const key of keys) {
            const expected = fresh.itemKey(generationSegment(cacheGeneration, regionGeneration), region, key)
            expect(fresh.itemKeyAt(cacheGeneration, regionGeneration, region, key)).toBe(expected)
            expect(isFitKey(expected)).toBe(true)
          }
        }
      }
    }
  })

  it('hashes cache names and regions that cannot be part of a key', () => {
    const spaced = new KeyLayout('cacheplane:', 'my cache')
    expect(spaced.cachePrefix).toMatch(/^cacheplane:%H[A-Za-z0-9_-]{43}:$/)
    expect(new KeyLayout('cacheplane:', 'n'.repeat(200)).cachePrefix.length).toBeLessThan(60)
    expect(isFitKey(layout.regionGenerationKey('r'.repeat(300)))).toBe(true)
    expect(layout.regionGenerationKey('a b')).not.toBe(layout.regionGenerationKey('a  b'))
  })
})

describe('long and odd keys on a real server', () => {
  const handles: Array<ReturnType<typeof boundHandle>> = []
  afterEach(() => {
    for (const handle of handles.splice(0)) handle.close()
  })

  it('stores and reads back every odd key, in and out of a region, without collisions', async () => {
    const handle = boundHandle()
    handles.push(handle)
    for (const [index, key] of oddKeys.entries()) {
      await handle.set(key, undefined, item(`plain ${index}`))
      await handle.set(key, 'region with space', item(`region ${index}`))
    }
    for (const [index, key] of oddKeys.entries()) {
      expect(text((await handle.get(key, undefined))?.value), JSON.stringify(key)).toBe(`plain ${index}`)
      expect(text((await handle.get(key, 'region with space'))?.value)).toBe(`region ${index}`)
    }
    expect(await handle.remove(oddKeys[0]!, undefined)).toBe(true)
    expect(await handle.get(oddKeys[0]!, undefined)).toBeUndefined()
  })

  it('writes the item under the documented key', async () => {
    const handle = boundHandle({}, 'layout-cache')
    handles.push(handle)
    await handle.clear() // fresh generation: nothing left from an earlier run
    await handle.set('k', 'eu', item('v'))
    const client = rawClient()
    try {
      const stored = await storedKeyOf(client, 'layout-cache', 'k', 'eu')
      expect(stored).toMatch(/^cacheplane:layout-cache:[0-9a-z]+\.[0-9a-z]+:eu:k$/)
      const { value } = await client.get(stored)
      expect(value).not.toBeNull()
    } finally {
      client.close()
    }
  })
})
