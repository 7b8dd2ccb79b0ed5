import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { type CacheHandle, CacheManager, errors } from '../src/index.js'

const caches: CacheManager<unknown>[] = []
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close()
})

function manager(name: string, handles: CacheHandle<unknown>[]): CacheManager<unknown> {
  const cache = new CacheManager<unknown>({ name, handles })
  caches.push(cache)
  return cache
}

/** A handle with no `bind` of its own: core's rule must hold for it all the same. */
function withoutBind(handle: CacheHandle<unknown>): CacheHandle<unknown> {
  return new Proxy(handle, { get: (target, p) => (p === 'bind' ? undefined : Reflect.get(target, p)) })
}

describe('one rule for a handle given to several managers (enforced by core)', () => {
  it('a local handle belongs to one manager, even one without a bind check', () => {
    const local = withoutBind(memoryHandle() as CacheHandle<unknown>)
    manager('a', [local])
    expect(() => manager('a', [local])).toThrow(errors.E_INVALID_OPTIONS)
    expect(() => manager('b', [local])).toThrow(/a local handle belongs to one manager/)
  })

  it('a distributed handle serves several managers of one cache name, never two names', async () => {
    const shared = withoutBind(memoryHandle({ name: 'store', distributed: true }) as CacheHandle<unknown>)
    const [a, b] = [manager('a', [memoryHandle(), shared]), manager('a', [memoryHandle(), shared])]
    expect(() => manager('other', [memoryHandle(), shared])).toThrow(/cannot also serve cache 'other'/)
    await a.set('k', 1)
    expect(await b.get('k')).toBe(1)
  })

  it('a closed manager gives its handles back', async () => {
    const local = memoryHandle() as CacheHandle<unknown>
    await manager('a', [local]).close()
    const next = manager('b', [local])
    await next.set('k', 1)
    expect(await next.get('k')).toBe(1)
  })

  it('a manager that failed to start gives back the handles it had claimed', () => {
    const local = withoutBind(memoryHandle() as CacheHandle<unknown>)
    const taken = withoutBind(memoryHandle({ name: 'store', distributed: true }) as CacheHandle<unknown>)
    manager('a', [memoryHandle(), taken])
    expect(() => manager('b', [local, taken])).toThrow(errors.E_INVALID_OPTIONS)
    expect(() => manager('c', [local])).not.toThrow()
  })
})
