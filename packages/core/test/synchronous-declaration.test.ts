import { memoryHandle } from '@cacheplane/memory'
import { afterEach, expect, it } from 'vitest'
import { type CacheHandle, CacheManager, type CacheplaneError, errors } from '../src/index.js'

const caches: CacheManager<unknown>[] = []
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close()
})

/** A bytes store that answers with promises but declares `synchronous: true`: the mistake under test. */
function asyncStoreDeclaredSynchronous(): CacheHandle<unknown> {
  const inner = memoryHandle({ name: 'store', distributed: true }) as CacheHandle<unknown>
  const data = new Set(['get', 'add', 'set', 'update', 'remove', 'expire'])
  return new Proxy(inner, {
    get(target, p) {
      const member = Reflect.get(target, p)
      if (typeof p !== 'string' || !data.has(p)) return member
      return (...args: unknown[]) =>
        Promise.resolve((member as (...a: unknown[]) => unknown).apply(target, args))
    },
  })
}

it('a store that returns promises while declaring synchronous: true is named as such, not as corrupt bytes', async () => {
  const cache = new CacheManager<string>({ name: 'c', handles: [asyncStoreDeclaredSynchronous()] })
  caches.push(cache as CacheManager<unknown>)
  const reported: CacheplaneError[] = []
  cache.on('error', ({ error }) => reported.push(error))

  await expect(cache.add('k', 'v')).rejects.toThrow(
    /declares capabilities\.synchronous: true, but its add returned a promise/,
  )
  expect(await cache.get('k')).toBeUndefined()
  const read = reported.find((error) => /its get returned a promise/.test(error.message))
  expect(read).toBeInstanceOf(errors.E_HANDLE_FAILED)
  expect(read?.source).toBe('store')
  expect(reported.some((error) => error instanceof errors.E_ITEM_CORRUPT)).toBe(false)
})
