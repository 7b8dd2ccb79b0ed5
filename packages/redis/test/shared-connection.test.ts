// Handles and backplanes opened from one `url` (with the same timeouts) share one command
// connection: the process opens one, a set is announced as soon as its SET is sent, and the
// connection is closed by the last of them to close, whatever the order.
import { type CacheHandle, CacheManager, InvalidOptionsError } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { redisBackplane, redisHandle } from '../src/index.js'
import { closeAll, standalone } from './topologies.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The standalone server's URL with a connection name, so the test can count its connections. */
function taggedUrl(): { url: string; tag: string } {
  const tag = randomKey('shared')
  const url = new URL(standalone.options().url!)
  url.searchParams.set('connectionName', tag)
  return { url: url.toString(), tag }
}

/** Command (not pub/sub) connections named `tag` that the server sees. */
async function commandConnections(tag: string): Promise<number> {
  const admin = new Redis(standalone.options().url!)
  try {
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'normal')) as string
    return list.split('\n').filter((line) => line.includes(` name=${tag} `)).length
  } finally {
    await closeAll([admin])
  }
}

function cacheOn(url: string, backplaneUrl = url, name = randomKey('cache')): CacheManager<unknown> {
  const cache = new CacheManager<unknown>({
    name,
    handles: [memoryHandle(), redisHandle({ url }) as CacheHandle<unknown>],
    backplane: redisBackplane({ url: backplaneUrl }),
  })
  cleanups.push(() => cache.close())
  return cache
}

describe('connections opened from one url', () => {
  it('are one connection for a handle and a backplane, closed with the cache', async () => {
    const { url, tag } = taggedUrl()
    const cache = cacheOn(url)
    await cache.ready()
    await cache.set('k', 'v')
    expect(await commandConnections(tag)).toBe(1)
    await cache.close()
    await waitFor(async () => (await commandConnections(tag)) === 0, { timeoutMs: 5_000 })
  })

  it('stay open until the last holder closes, in any order', async () => {
    const { url, tag } = taggedUrl()
    const backplane = redisBackplane({ url })
    const name = randomKey('cache')
    const [first, second] = [0, 1].map(() => {
      const cache = new CacheManager<unknown>({
        name,
        handles: [memoryHandle(), redisHandle({ url }) as CacheHandle<unknown>],
        backplane,
      })
      cleanups.push(() => cache.close())
      return cache
    }) as [CacheManager<unknown>, CacheManager<unknown>]
    cleanups.push(() => backplane.close())
    await Promise.all([first.ready(), second.ready()])
    await first.set('k', 'v1')
    expect(await commandConnections(tag)).toBe(1)

    await first.close()
    // The second cache's handle and the backplane still hold it: writes, reads and messages work.
    await second.set('k', 'v2')
    expect(await second.get('k')).toBe('v2')
    const other = cacheOn(standalone.options().url!, standalone.options().url!, name)
    await other.ready()
    expect(await other.get('k')).toBe('v2')
    const heard: string[] = []
    other.on('set', (e) => {
      if (e.origin === 'remote') heard.push(e.key)
    })
    await second.set('k', 'v3')
    await waitFor(() => heard.includes('k'), { message: "the other instance heard the set of 'k'" })
    expect(await commandConnections(tag)).toBe(1)

    await second.close()
    await backplane.close()
    await waitFor(async () => (await commandConnections(tag)) === 0, { timeoutMs: 5_000 })
  })

  it.each([
    { why: 'no timeouts given', options: {} },
    {
      why: 'the default timeouts given on one side',
      options: { commandTimeoutMs: 2_000, connectTimeoutMs: 2_000 },
    },
  ])(
    'announce a set as soon as its SET is sent, with $why (the backplane orders after the handle)',
    ({ options }) => {
      const { url } = taggedUrl()
      const handle = redisHandle({ url, ...options })
      const backplane = redisBackplane({ url })
      cleanups.push(
        () => handle.close(),
        () => backplane.close(),
      )
      expect(backplane.ordersAfter?.(handle)).toBe(true)
    },
  )
})

describe('connections opened from one url, kept apart', () => {
  it.each([
    { why: 'shareConnection: false', options: { shareConnection: false } },
    { why: 'other timeouts', options: { commandTimeoutMs: 1_000 } },
  ])('are connections of their own with $why on the handle', async ({ options }) => {
    const { url, tag } = taggedUrl()
    const handle = redisHandle({ url, ...options })
    const backplane = redisBackplane({ url })
    const name = randomKey('cache')
    const cache = new CacheManager<unknown>({
      name,
      handles: [memoryHandle(), handle as CacheHandle<unknown>],
      backplane,
    })
    cleanups.push(() => cache.close())
    expect(backplane.ordersAfter?.(handle)).toBe(false)
    await cache.ready()
    await cache.set('k', 'v')
    expect(await commandConnections(tag)).toBe(2)
  })

  it('reject shareConnection without url, or not a boolean', () => {
    expect(() => redisHandle({ client: new Redis({ lazyConnect: true }), shareConnection: true })).toThrow(
      InvalidOptionsError,
    )
    expect(() =>
      redisBackplane({ cluster: [{ host: '127.0.0.1', port: 1 }], shareConnection: false }),
    ).toThrow(/'shareConnection' applies to connections opened from 'url'/)
    expect(() =>
      redisHandle({ url: standalone.options().url!, shareConnection: 'yes' as unknown as boolean }),
    ).toThrow(/'shareConnection' must be true or false/)
  })
})
