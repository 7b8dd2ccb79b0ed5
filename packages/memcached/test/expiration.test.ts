import { CacheManager, InvalidExpirationError } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { maxRelativeSeconds, memcachedExptime, memcachedHandle } from '../src/index.js'
import { boundHandle, item, memcachedServers, rawClient, storedKeyOf, text } from './helpers.js'

const day = 24 * 60 * 60 * 1000

describe('memcachedExptime', () => {
  const now = 1_800_000_000_000

  it('sends no expiry only for items that never expire', () => {
    expect(memcachedExptime('none', 0, now)).toBe(0)
  })

  it('rounds up to whole seconds, never to 0, plus one tick of Memcached’s clock', () => {
    expect(memcachedExptime('absolute', now + 1, now)).toBe(2)
    expect(memcachedExptime('absolute', now + 1000, now)).toBe(2)
    expect(memcachedExptime('absolute', now + 1001, now)).toBe(3)
    // Already due (a slow caller): still a positive expiration, never "no expiry".
    expect(memcachedExptime('absolute', now - 5, now)).toBe(2)
  })

  it('sends lifetimes past 30 days as absolute Unix times', () => {
    expect(memcachedExptime('absolute', now + 29 * day, now)).toBe(29 * 24 * 3600 + 1)
    expect(memcachedExptime('absolute', now + 30 * day - 2000, now)).toBeLessThanOrEqual(maxRelativeSeconds)
    const thirtyOne = memcachedExptime('absolute', now + 31 * day, now)
    expect(thirtyOne).toBe((now + 31 * day) / 1000 + 1)
    expect(thirtyOne).toBeGreaterThan(maxRelativeSeconds)
  })
})

describe('TTLs on a real server', () => {
  const closers: Array<() => unknown> = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
  })

  function manager(cacheName = randomKey('ttl')) {
    const cache = new CacheManager<string>({
      name: cacheName,
      handles: [memcachedHandle({ servers: memcachedServers() })],
    })
    closers.push(() => cache.close())
    return cache
  }

  it('keeps a 1 ms item for about a second (rounded up, not "no expiry"), then it is gone from Memcached too', async () => {
    const cacheName = randomKey('ttl')
    const cache = manager(cacheName)
    const client = rawClient()
    closers.push(() => client.close())
    const written = Date.now()
    await cache.set('k', 'short', { expiration: { mode: 'absolute', ttl: 1 } })
    const stored = await storedKeyOf(client, cacheName, 'k')
    const itemRead = await cache.getItem('k')
    // Only assertable when the machine did not stall for most of the second.
    if (Date.now() - written < 800) {
      expect(itemRead?.value).toBe('short')
      expect(itemRead!.expiresAt - written).toBeGreaterThanOrEqual(1000)
    }
    await waitFor(async () => (await cache.get('k')) === undefined, { timeoutMs: 5_000 })
    // Memcached itself dropped it: the expiration sent was a real one, not 0.
    await waitFor(async () => (await client.get(stored)).value === null, { timeoutMs: 5_000 })
  })

  it('stores a 31-day item as an absolute time and reads it back', async () => {
    const cacheName = randomKey('ttl')
    const cache = manager(cacheName)
    const client = rawClient()
    closers.push(() => client.close())
    await cache.set('k', 'long', { expiration: { mode: 'absolute', ttl: 31 * day } })
    // Sent as relative seconds, Memcached would read 31 days as a Unix time in 1970 and drop it at once.
    expect((await client.get(await storedKeyOf(client, cacheName, 'k'))).value).not.toBeNull()
    const read = await cache.getItem('k')
    expect(read?.value).toBe('long')
    expect(read!.expiresAt - read!.created).toBeGreaterThanOrEqual(31 * day)
  })

  it('leaves rejecting a TTL of 0 to core, writing nothing', async () => {
    const cache = manager()
    await expect(cache.set('k', 'v', { expiration: { mode: 'absolute', ttl: 0 } })).rejects.toBeInstanceOf(
      InvalidExpirationError,
    )
    expect(await cache.get('k')).toBeUndefined()
  })

  it('treats an item past its expiresAt as absent although Memcached still holds it for a tick', async () => {
    const cacheName = randomKey('ttl')
    const handle = boundHandle({}, cacheName)
    closers.push(() => handle.close())
    const client = rawClient()
    closers.push(() => client.close())
    const due = { ...item('old', 'absolute', 1000), expiresAt: Date.now() - 1 }
    await handle.set('k', undefined, due)
    // Still on the server (Memcached keeps it at least a second)...
    expect((await client.get(await storedKeyOf(client, cacheName, 'k'))).value).not.toBeNull()
    // ...but every operation sees it as absent, and add replaces it.
    expect(await handle.get('k', undefined)).toBeUndefined()
    expect(await handle.update('k', undefined, 1, item('x'))).toEqual({ status: 'missing' })
    expect(await handle.expire('k', undefined, 'none', 0, 0)).toBe(false)
    expect(await handle.touch('k', undefined)).toBe(false)
    expect(await handle.add('k', undefined, item('new'))).toBe(true)
    expect(text((await handle.get('k', undefined))?.value)).toBe('new')
  })

  it('extends a sliding item on every hit and lets it expire once reads stop', async () => {
    const cacheName = randomKey('ttl')
    const handle = boundHandle({}, cacheName)
    closers.push(() => handle.close())
    const client = rawClient()
    closers.push(() => client.close())
    const ttl = 2000
    await handle.set('k', undefined, item('slide', 'sliding', ttl))
    let lastHit = Date.now()
    const started = lastHit
    // Read for well past the TTL: each hit moves the expiry.
    while (Date.now() - started < 2 * ttl) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      const read = await handle.get('k', undefined)
      // A stalled machine may let it expire; only a read soon after the last hit must find it.
      if (Date.now() - lastHit < ttl - 1000) {
        expect(text(read?.value)).toBe('slide')
        expect(read!.expiresAt).toBeGreaterThanOrEqual(Date.now() + ttl - 1000)
      }
      if (read === undefined) break
      lastHit = Date.now()
    }
    // Watch with plain reads: a handle read is a hit and would extend the item again.
    const stored = await storedKeyOf(client, cacheName, 'k')
    await waitFor(async () => (await client.get(stored)).value === null, { timeoutMs: ttl + 5_000 })
    expect(await handle.get('k', undefined)).toBeUndefined()
  })

  it('changes an item’s expiration with expire (a write: new version, new lifetime)', async () => {
    const handle = boundHandle()
    closers.push(() => handle.close())
    const version = await handle.set('k', undefined, item('v', 'absolute', 60_000))
    const expiresAt = Date.now() + 1000
    expect(await handle.expire('k', undefined, 'absolute', 1000, expiresAt)).toBe(true)
    const read = await handle.get('k', undefined)
    if (read !== undefined) {
      expect(read.expiresAt).toBe(expiresAt)
      expect(read.version).not.toBe(version)
    }
    await waitFor(async () => (await handle.get('k', undefined)) === undefined, { timeoutMs: 5_000 })
    expect(await handle.expire('k', undefined, 'none', 0, 0)).toBe(false)
  })
})
