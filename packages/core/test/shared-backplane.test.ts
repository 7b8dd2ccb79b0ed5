// One backplane object shared by every cache of an instance: each cache hears its own
// channel only, a gap reaches all of them, closing one leaves the others subscribed, and a
// backplane that cannot multiplex is refused for a second cache instead of losing frames.
import { memoryHandle } from '@cacheplane/memory'
import { describe, expect, it } from 'vitest'
import type { Backplane, CacheHandle } from '../src/index.js'
import { CacheManager, createBackplaneHub, InvalidOptionsError, memoryBackplane } from '../src/index.js'
import { chaosBackplane, waitFor } from '../src/testing/index.js'
import { nextEvent, spyHandle } from './sync-fixtures.js'

const NAMES = ['users', 'products', 'sessions'] as const

/** One application instance: a cache per name, every one on the same backplane object. */
function instance(backplane: Backplane, store: Map<string, CacheHandle<unknown>>) {
  return NAMES.map((name) => {
    let shared = store.get(name)
    if (shared === undefined) {
      shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
      store.set(name, shared)
    }
    return new CacheManager<unknown>({
      name,
      handles: [memoryHandle({ name: 'memory' }), shared] as CacheHandle<unknown>[],
      shared: [shared],
      backplane,
    })
  })
}

describe('one backplane shared by several caches', () => {
  it('every cache hears the changes of its own name from the other instance, and only those', async () => {
    const hub = createBackplaneHub()
    const store = new Map<string, CacheHandle<unknown>>()
    const a = instance(memoryBackplane({ hub, name: 'a' }), store)
    const b = instance(memoryBackplane({ hub, name: 'b' }), store)
    await Promise.all([...a, ...b].map((cache) => cache.ready()))
    for (const [i, writer] of a.entries()) {
      const reader = b[i] as CacheManager<unknown>
      await reader.set('k', 'old')
      expect(await reader.get('k')).toBe('old')
      const heard = nextEvent(reader, 'set', (event) => event.origin === 'remote')
      await writer.set('k', `new ${writer.name}`)
      await heard
      expect(await reader.get('k')).toBe(`new ${writer.name}`)
    }
    // Each reader heard one remote set: its own cache's, none of the two others'.
    for (const reader of b) expect(reader.stats().backplane?.messagesReceived).toBe(1)
    await Promise.all([...a, ...b].map((cache) => cache.close()))
  })

  it('closing one cache leaves the others subscribed; the last one unsubscribes the channel', async () => {
    const hub = createBackplaneHub()
    const store = new Map<string, CacheHandle<unknown>>()
    const a = instance(memoryBackplane({ hub, name: 'a' }), store)
    const [users, products, sessions] = instance(memoryBackplane({ hub, name: 'b' }), store) as [
      CacheManager<unknown>,
      CacheManager<unknown>,
      CacheManager<unknown>,
    ]
    await Promise.all([...a, users, products, sessions].map((cache) => cache.ready()))
    expect(hub.subscriberCount('cacheplane:users')).toBe(2)
    await users.close()
    expect(hub.subscriberCount('cacheplane:users')).toBe(1)
    expect(hub.subscriberCount('cacheplane:products')).toBe(2)
    const heard = nextEvent(products, 'set', (event) => event.origin === 'remote')
    await a[1]?.set('p', 1)
    await heard
    await Promise.all([products.close(), sessions.close(), ...a.map((cache) => cache.close())])
    for (const name of NAMES) expect(hub.subscriberCount(`cacheplane:${name}`)).toBe(0)
  })

  it('a gap reaches every cache on the backplane, and each applies its own gap policy', async () => {
    const hub = createBackplaneHub()
    const backplane = chaosBackplane(memoryBackplane({ hub }))
    const caches = NAMES.map(
      (name, i) =>
        new CacheManager<unknown>({
          name,
          handles: [memoryHandle({ name: 'memory' })] as CacheHandle<unknown>[],
          backplane,
          gapPolicy: i === 0 ? 'keep' : 'clear',
        }),
    )
    await Promise.all(caches.map((cache) => cache.ready()))
    for (const cache of caches) await cache.set('k', cache.name)
    const actions: string[] = []
    for (const cache of caches)
      cache.on('backplane', (event) => {
        if (event.type === 'gap') actions.push(`${cache.name}:${event.action}`)
      })
    backplane.emitGap({ reason: 'test' })
    await waitFor(() => actions.length === 3, { message: 'a gap event in every cache' })
    expect(actions.sort()).toEqual(['products:cleared', 'sessions:cleared', 'users:kept'])
    expect(await caches[0]?.get('k')).toBe('users')
    expect(await caches[1]?.get('k')).toBeUndefined()
    await Promise.all(caches.map((cache) => cache.close()))
  })

  it('refuses a second cache on a backplane that cannot multiplex', async () => {
    const inner = memoryBackplane({ hub: createBackplaneHub() })
    const single: Backplane = { ...inner, capabilities: { ...inner.capabilities, multiplex: false } }
    const first = new CacheManager<unknown>({ name: 'users', handles: [memoryHandle()], backplane: single })
    await first.ready()
    let bound = 0
    const refused = spyHandle(memoryHandle() as CacheHandle<unknown>, {
      bind: () => {
        bound++
      },
    })
    expect(
      () => new CacheManager<unknown>({ name: 'products', handles: [refused], backplane: single }),
    ).toThrow(InvalidOptionsError)
    expect(bound).toBe(0) // refused before anything was bound or opened
    await first.close()
  })
})
