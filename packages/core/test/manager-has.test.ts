// `has` answers as `get` would, without get's side effects on the item.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { type CacheHandle, CacheManager, type ErrorEvent } from '../src/index.js'
import { waitFor } from '../src/testing/index.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

function manager(handles: CacheHandle<unknown>[]) {
  const cache = new CacheManager<string>({ name: 'c', handles })
  closers.push(() => cache.close())
  return cache
}

describe('has', () => {
  it('does not extend a sliding item: asked over and over, it still expires', async () => {
    const cache = manager([memoryHandle({ name: 'memory' })])
    await cache.set('k', 'v', { expiration: { mode: 'sliding', ttl: 200 } })
    expect(await cache.has('k')).toBe(true)
    // Polled every 20 ms, far more often than the TTL: had has() slid it, it would never expire.
    await waitFor(async () => !(await cache.has('k')), {
      timeoutMs: 3_000,
      intervalMs: 20,
      message: 'the sliding item to expire while only has() is asked',
    })
    expect(await cache.get('k')).toBeUndefined()
  })

  /** A manager over a shared store that `putGarbage` fills with bytes that are not an item; its errors. */
  async function overGarbage() {
    const store = memoryHandle({ name: 'store', distributed: true })
    const cache = manager([store as CacheHandle<unknown>])
    const errors: ErrorEvent[] = []
    cache.on('error', (event) => errors.push(event))
    await cache.ready()
    const value = new Uint8Array([0xff, 0x00, 0x7b])
    const putGarbage = (key: string) =>
      store.set(key, undefined, { value, mode: 'none', ttl: 0, expiresAt: 0, created: Date.now() })
    return { cache, errors, putGarbage }
  }

  it('agrees with get on an item whose bytes do not decode: absent, and reported', async () => {
    const { cache, errors, putGarbage } = await overGarbage()
    putGarbage('k')
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.has('k')).toBe(false)
    expect(errors.map((event) => event.error.code)).toEqual(['E_ITEM_CORRUPT', 'E_ITEM_CORRUPT'])
  })

  it('add replaces an item whose bytes do not decode, as getOrAdd does', async () => {
    const { cache, errors, putGarbage } = await overGarbage()
    putGarbage('k')
    expect(await cache.add('k', 'added')).toBe(true)
    expect(await cache.get('k')).toBe('added')
    putGarbage('j')
    expect(await cache.getOrAdd('j', () => 'factory')).toBe('factory')
    expect(await cache.get('j')).toBe('factory')
    expect(errors.map((event) => event.error.code)).toContain('E_ITEM_CORRUPT')
  })
})
