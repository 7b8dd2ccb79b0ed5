import { type Backplane, CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { natsBackplane } from '@cacheplane/nats'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { memcachedHandle } from '../src/index.js'
import { memcachedServers } from './helpers.js'

const closers: Array<() => unknown> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/**
 * Instances of one application: memory in front of Memcached, kept in sync by a backplane
 * (the in-process hub, or NATS). The generation refresh interval is far beyond the test, so
 * a remote clear is only noticed through the backplane.
 */
async function instances(count: number, backplane: () => Backplane) {
  const name = randomKey('sync')
  const caches = Array.from({ length: count }, () => {
    const cache = new CacheManager<string>({
      name,
      handles: [
        memoryHandle({ maxEntries: 1_000 }),
        memcachedHandle({ servers: memcachedServers(), generationRefreshMs: 600_000 }),
      ],
      backplane: backplane(),
    })
    closers.push(() => cache.close())
    return cache
  })
  await Promise.all(caches.map((cache) => cache.ready()))
  return caches
}

const backplanes: Array<{ name: string; factory: () => () => Backplane }> = [
  {
    name: 'the in-process backplane',
    factory: () => {
      const hub = createBackplaneHub()
      return () => memoryBackplane({ hub })
    },
  },
  {
    name: 'NATS',
    factory: () => {
      const servers = inject('natsUrl')
      if (typeof servers !== 'string' || servers === '') {
        throw new Error('No NATS server was provided: run through vitest with test/global-setup.ts.')
      }
      return () => natsBackplane({ servers })
    },
  },
]

for (const { name, factory } of backplanes) {
  describe(`memory + Memcached through ${name}`, () => {
    it('propagates set, update and remove to the other instance’s memory layer', async () => {
      const [a, b] = (await instances(2, factory())) as [CacheManager<string>, CacheManager<string>]
      await a.set('k', 'one')
      expect(await b.get('k')).toBe('one')
      // B ends up answering from memory (level 0); a copy-up racing A's own announcement is fenced, so poll.
      await waitFor(async () => (await b.getItem('k'))?.level === 0)

      await a.set('k', 'two')
      await waitFor(async () => (await b.get('k')) === 'two')

      await a.update('k', (value) => `${value}+1`)
      await waitFor(async () => (await b.get('k')) === 'two+1')

      await a.remove('k')
      await waitFor(async () => (await b.get('k')) === undefined)
    })

    it('propagates clear and clearRegion, including the Memcached generation of the other instance', async () => {
      const [a, b] = (await instances(2, factory())) as [CacheManager<string>, CacheManager<string>]
      await a.set('k', 'plain')
      await a.set('k', 'eu', { region: 'eu' })
      await a.set('k', 'us', { region: 'us' })
      // B reads everything once (memory copies; Memcached generations cached locally).
      expect(await b.get('k')).toBe('plain')
      expect(await b.get('k', { region: 'eu' })).toBe('eu')
      expect(await b.get('k', { region: 'us' })).toBe('us')

      await a.clearRegion('eu')
      await waitFor(async () => (await b.get('k', { region: 'eu' })) === undefined)
      expect(await b.get('k', { region: 'us' })).toBe('us')
      // B writes into the new generation, where A reads it.
      await b.set('k', 'eu-again', { region: 'eu' })
      await waitFor(async () => (await a.get('k', { region: 'eu' })) === 'eu-again')

      await a.clear()
      await waitFor(async () => (await b.get('k')) === undefined)
      // Read from B's Memcached handle, not only its memory layer: B's handle must know the new generation.
      const fresh = new CacheManager<string>({
        name: a.name,
        handles: [memcachedHandle({ servers: memcachedServers() })],
      })
      closers.push(() => fresh.close())
      await b.set('after', 'clear')
      expect(await fresh.get('after')).toBe('clear')
      expect(await b.get('k', { region: 'us' })).toBeUndefined()
    })

    it('getOrAdd agrees on one value across instances', async () => {
      const caches = await instances(3, factory())
      const values = await Promise.all(caches.map((cache, i) => cache.getOrAdd('k', () => `from-${i}`)))
      expect(new Set(values).size).toBe(1)
    })
  })
}
