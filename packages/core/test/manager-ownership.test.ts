// Who closes what: a manager closes the handles and backplane it owns, never the handles
// it was told are shared; an owned object used by a second open manager is an error.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type Backplane,
  type CacheHandle,
  CacheManager,
  createBackplaneHub,
  InvalidOptionsError,
  memoryBackplane,
} from '../src/index.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

function manager(options: ConstructorParameters<typeof CacheManager>[0]) {
  const cache = new CacheManager(options)
  closers.push(() => cache.close())
  return cache
}

/** `handle` with a count of its close() calls. */
function counted<T extends CacheHandle<unknown> | Backplane>(inner: T): T & { closes: number } {
  const wrapper = Object.create(inner) as T & { closes: number }
  wrapper.closes = 0
  wrapper.close = (() => {
    wrapper.closes++
    return inner.close()
  }) as T['close']
  return wrapper
}

describe('ownership', () => {
  it('close() closes the handles it owns, never a shared handle, and only its own backplane subscription', async () => {
    const top = counted(memoryHandle({ name: 'memory' }) as CacheHandle<unknown>)
    const store = counted(memoryHandle({ name: 'store', distributed: true }) as CacheHandle<unknown>)
    const backplane = counted(memoryBackplane({ hub: createBackplaneHub() }))
    const cache = manager({ name: 'c', handles: [top, store], shared: [store], backplane })
    await cache.ready()
    await cache.close()
    // The backplane may carry other caches: it releases what it opened with its last subscription.
    expect([top.closes, store.closes, backplane.closes]).toEqual([1, 0, 0])
  })

  it('a manager closing leaves a shared store working for the other managers', async () => {
    const store = memoryHandle({ name: 'store', distributed: true })
    const options = { name: 'c', shared: [store] }
    const a = manager({ ...options, handles: [memoryHandle({ name: 'memory' }), store] })
    const b = manager({ ...options, handles: [memoryHandle({ name: 'memory' }), store] })
    await a.set('k', 'v')
    await a.close()
    expect(await b.get('k')).toBe('v')
    await b.set('k2', 'v2')
    expect(await b.get('k2')).toBe('v2')
    store.close()
  })

  it('a handle owned by an open manager cannot be given to another', async () => {
    const store = memoryHandle({ name: 'store', distributed: true })
    const owner = manager({ name: 'c', handles: [store] })
    expect(() => new CacheManager({ name: 'c', handles: [store] })).toThrow(InvalidOptionsError)
    expect(() => new CacheManager({ name: 'c', handles: [store], shared: [store] })).toThrow(
      /owns it and would close it/,
    )
    // Once its owner closed, the handle is free again.
    await owner.close()
    const next = manager({ name: 'c', handles: [memoryHandle({ name: 'fresh', distributed: true })] })
    expect(() => manager({ name: 'c', handles: [store] })).not.toThrow()
    await next.close()
  })

  it('a shared handle cannot then be owned by another manager', () => {
    const store = memoryHandle({ name: 'store', distributed: true })
    manager({ name: 'c', handles: [store], shared: [store] })
    expect(() => new CacheManager({ name: 'c', handles: [store] })).toThrow(
      /already shared by other open managers/,
    )
    expect(() => manager({ name: 'c', handles: [store], shared: [store] })).not.toThrow()
    store.close()
  })

  it('shared must list handles of this manager', () => {
    const store = memoryHandle({ name: 'store', distributed: true })
    const other = memoryHandle({ name: 'other', distributed: true })
    expect(() => new CacheManager({ name: 'c', handles: [store], shared: [other] })).toThrow(
      /shared lists 'other', which is not one of `handles`/,
    )
    expect(
      () => new CacheManager({ name: 'c', handles: [store], shared: 'store' as unknown as CacheHandle[] }),
    ).toThrow(InvalidOptionsError)
    // Nothing was claimed by the managers that failed.
    expect(() => manager({ name: 'c', handles: [store, other] })).not.toThrow()
  })

  it('a manager whose construction fails owns nothing', () => {
    const store = memoryHandle({ name: 'store', distributed: true })
    // The local handle's bind refuses a second cache; the store must not stay claimed.
    const refused = memoryHandle({ name: 'refused' })
    refused.bind('elsewhere')
    expect(() => new CacheManager({ name: 'c', handles: [refused, store] })).toThrow(InvalidOptionsError)
    expect(() => manager({ name: 'c', handles: [memoryHandle({ name: 'm' }), store] })).not.toThrow()
  })
})
