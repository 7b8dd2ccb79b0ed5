import { ClosedError, InvalidOptionsError, ItemCorruptError, NotSupportedError } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { describe, expect, it } from 'vitest'
import { keyvHandle } from '../src/index.js'
import { item, text } from './helpers.js'

/** A handle on `store` bound to a random (or given) cache name. */
function bound(store: Map<string, unknown>, cacheName = randomKey('cache'), generationRefreshMs?: number) {
  const handle = keyvHandle({
    store,
    distributed: true,
    ...(generationRefreshMs === undefined ? {} : { generationRefreshMs }),
  })
  handle.bind(cacheName)
  return handle
}

/** A Map that records the TTL of every set. */
class TtlMap extends Map<string, unknown> {
  readonly ttls = new Map<string, number | undefined>()
  override set(key: string, value: unknown, ttl?: number): this {
    this.ttls?.set(key, ttl)
    return super.set(key, value)
  }
}

describe('keyvHandle options', () => {
  it('rejects a missing or unusable store and bad options with InvalidOptionsError', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { store: {} },
      { store: { get() {}, set() {} } },
      { store: new Map(), prefix: 'x'.repeat(65) },
      { store: new Map(), prefix: 'a\u0000b' },
      { store: new Map(), name: '' },
      { store: new Map(), generationRefreshMs: 0 },
      { store: new Map(), maxKeyBytes: 100 },
      { store: new Map(), distributed: 'yes' },
    ]
    for (const options of bad) {
      expect(() => keyvHandle(options as never), JSON.stringify(options)).toThrow(InvalidOptionsError)
    }
  })

  it('is distributed unless the store is a Map (or a Keyv over one)', () => {
    expect(keyvHandle({ store: new Map() }).capabilities.distributed).toBe(false)
    const shared = { get: async () => undefined, set: async () => {}, delete: async () => false }
    expect(keyvHandle({ store: shared }).capabilities).toMatchObject({
      distributed: true,
      cas: false,
      sliding: false,
      bytes: true,
      clearRegion: 'generation',
    })
    expect(keyvHandle({ store: new Map(), distributed: true }).capabilities.distributed).toBe(true)
  })
})

describe('keyvHandle', () => {
  it('refuses update (no compare-and-set in Keyv), use before bind, a second cache, and use after close', async () => {
    const handle = keyvHandle({ store: new Map() })
    await expect(handle.get('k', undefined)).rejects.toThrow(InvalidOptionsError)
    handle.bind('one')
    handle.bind('one')
    expect(() => handle.bind('two')).toThrow(InvalidOptionsError)
    expect(() => handle.update('k', undefined, 1, item('v'))).toThrow(NotSupportedError)
    handle.close()
    await expect(handle.get('k', undefined)).rejects.toThrow(ClosedError)
  })

  it('stores base64 text under readable keys, and hashes keys past maxKeyBytes or with NUL', async () => {
    const store = new Map<string, unknown>()
    const handle = bound(store, 'app')
    await handle.set('user:1', 'r', item('one'))
    await handle.set('x'.repeat(300), undefined, item('long'))
    await handle.set('a\u0000b', undefined, item('nul'))
    const keys = [...store.keys()]
    expect(keys).toContain('cacheplane:app:0.0:r:user:1')
    expect(keys.filter((key) => key.startsWith('cacheplane:app:0:%H'))).toHaveLength(2)
    for (const key of keys) expect(Buffer.byteLength(key)).toBeLessThanOrEqual(255)
    expect(typeof store.get('cacheplane:app:0.0:r:user:1')).toBe('string')
    expect(text((await handle.get('x'.repeat(300), undefined))?.value)).toBe('long')
    expect(text((await handle.get('a\u0000b', undefined))?.value)).toBe('nul')
  })

  it('gives the store the remaining lifetime as its TTL, and none for items without expiry', async () => {
    const store = new TtlMap()
    const handle = bound(store, 'ttl')
    await handle.set('a', undefined, item('a', 'absolute', 60_000))
    await handle.set('b', undefined, item('b'))
    const ttlA = store.ttls.get('cacheplane:ttl:0::a')
    expect(ttlA).toBeGreaterThan(59_000)
    expect(ttlA).toBeLessThanOrEqual(60_000)
    expect(store.ttls.get('cacheplane:ttl:0::b')).toBeUndefined()
  })

  it('deletes an expired item it reads (stores without TTLs keep them)', async () => {
    const store = new Map<string, unknown>()
    const handle = bound(store, 'exp')
    await handle.set('a', undefined, item('a', 'absolute', 30))
    await waitFor(async () => (await handle.get('a', undefined)) === undefined, { message: 'expiry' })
    expect(store.has('cacheplane:exp:0::a')).toBe(false)
  })

  it("follows core's corrupt-item policy for items and tokens: an error to reads and expire, a taken key to add; writes replace them", async () => {
    const store = new Map<string, unknown>()
    const handle = bound(store, 'bad')
    for (const garbage of [42, 'not base64!', Buffer.from('not an envelope').toString('base64')]) {
      store.set('cacheplane:bad:0::k', garbage)
      await expect(handle.get('k', undefined)).rejects.toThrow(ItemCorruptError)
      await expect(handle.peek('k', undefined)).rejects.toThrow(ItemCorruptError)
      await expect(handle.getMany(['k'], undefined)).rejects.toThrow(ItemCorruptError)
      await expect(handle.expire('k', undefined, 'absolute', 1_000, Date.now() + 1_000)).rejects.toThrow(
        ItemCorruptError,
      )
      expect(await handle.add('k', undefined, item('fresh'))).toBe(false)
      expect(store.get('cacheplane:bad:0::k')).toBe(garbage)
      await handle.set('k', undefined, item('fresh'))
      expect(text((await handle.get('k', undefined))?.value)).toBe('fresh')
    }
    store.set('cacheplane:bad:gen:r', 'x:y')
    await expect(handle.get('k', 'r')).rejects.toThrow(ItemCorruptError)
    await handle.clearRegion('r')
    expect(await handle.get('k', 'r')).toBeUndefined()
  })

  it('a clear by another instance reaches this one through onRemoteClear, or by itself after generationRefreshMs', async () => {
    const store = new Map<string, unknown>()
    const cacheName = randomKey('cache')
    const [a, b] = [bound(store, cacheName), bound(store, cacheName)]
    await a.set('k', 'r', item('v'))
    await a.set('k', undefined, item('v'))
    expect(text((await b.get('k', 'r'))?.value)).toBe('v')
    await a.clearRegion('r')
    // b keeps its copy of the token for up to generationRefreshMs (5 s) unless told.
    expect(text((await b.get('k', 'r'))?.value)).toBe('v')
    await b.onRemoteClear('r')
    expect(await b.get('k', 'r')).toBeUndefined()
    expect(text((await b.get('k', undefined))?.value)).toBe('v')

    const c = bound(store, cacheName, 50)
    expect(text((await c.get('k', undefined))?.value)).toBe('v')
    await a.clear()
    await waitFor(async () => (await c.get('k', undefined)) === undefined, { message: 'c sees the clear' })
  })

  it('two instances clearing at once agree on the store token once they heard each other', async () => {
    const store = new Map<string, unknown>()
    const cacheName = randomKey('cache')
    const [a, b] = [bound(store, cacheName), bound(store, cacheName)]
    await Promise.all([a.clear(), b.clear()])
    await Promise.all([a.onRemoteClear(undefined), b.onRemoteClear(undefined)])
    await a.set('k', undefined, item('from a'))
    expect(text((await b.get('k', undefined))?.value)).toBe('from a')
  })

  it('add and expire are atomic against writes of the same process', async () => {
    const handle = bound(new Map(), 'race')
    const results = await Promise.all([
      handle.add('k', undefined, item('first')),
      handle.add('k', undefined, item('second')),
      handle.set('k', undefined, item('set')),
      handle.expire('k', undefined, 'absolute', 60_000, Date.now() + 60_000),
    ])
    expect(results.slice(0, 2)).toEqual([true, false])
    const stored = await handle.get('k', undefined)
    expect({ text: text(stored?.value), mode: stored?.mode }).toEqual({ text: 'set', mode: 'absolute' })
  })
})
