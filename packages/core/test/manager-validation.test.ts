import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { type CacheHandle, CacheManager, type CacheManagerOptions, errors } from '../src/index.js'

const caches: CacheManager<unknown>[] = []
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close()
})

function make(options: Partial<CacheManagerOptions> = {}) {
  const cache = new CacheManager<unknown>({
    name: 'c',
    handles: [memoryHandle({ name: 'memory' })] as CacheHandle<unknown>[],
    ...options,
  })
  caches.push(cache)
  return cache
}

describe('options', () => {
  it.each([
    ['missing name', { name: undefined }],
    ['empty name', { name: '' }],
    ['empty handle list', { handles: [] }],
    ['handles not an array', { handles: 'memory' }],
    ['duplicate handle names', { handles: [memoryHandle({ name: 'm' }), memoryHandle({ name: 'm' })] }],
    ['bad gapPolicy', { gapPolicy: 'sometimes' }],
    ['bad maxLocalTtlMs', { maxLocalTtlMs: -1 }],
    ['bad updateRetries', { updateRetries: 1.5 }],
    ['bad circuit breaker', { circuitBreaker: { failureThreshold: 0, resetAfterMs: 10 } }],
    ['bad maxQueue', { maxQueue: 0 }],
    ['bad slidingTouchRatio', { slidingTouchRatio: 2 }],
    ['bad serializer', { serializer: { name: 'x' } }],
    ['bad secret', { secret: 42 }],
  ])('%s is E_INVALID_OPTIONS', (_, override) => {
    expect(() => make(override as Partial<CacheManagerOptions>)).toThrow(errors.E_INVALID_OPTIONS)
  })

  it.each([
    ['unknown mode', { mode: 'forever' }],
    ['zero ttl', { mode: 'absolute', ttl: 0 }],
    ['negative ttl', { mode: 'sliding', ttl: -5 }],
    ['NaN ttl', { mode: 'absolute', ttl: Number.NaN }],
    ['infinite ttl', { mode: 'absolute', ttl: Number.POSITIVE_INFINITY }],
    ['absurd ttl (> 10 years)', { mode: 'absolute', ttl: 11 * 365 * 24 * 3600 * 1000 }],
  ])('a default expiration with %s is E_INVALID_EXPIRATION', (_, expiration) => {
    expect(() => make({ expiration } as Partial<CacheManagerOptions>)).toThrow(errors.E_INVALID_EXPIRATION)
  })
})

describe('arguments', () => {
  const long = 'x'.repeat(65_537)
  it.each([
    ['empty key', ''],
    ['non-string key', 42],
    ['absurdly long key', long],
  ])('%s is E_INVALID_KEY on every operation', async (_, key) => {
    const cache = make()
    const k = key as string
    await expect(cache.get(k)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.getItem(k)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.has(k)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.set(k, 1)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.add(k, 1)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.getOrAdd(k, () => 1)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.update(k, (v) => v)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.addOrUpdate(k, 1, (v) => v)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.remove(k)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.expire(k, { mode: 'none' })).rejects.toThrow(errors.E_INVALID_KEY)
  })

  it.each([
    ['empty region', ''],
    ['non-string region', 7],
    ['absurdly long region', long],
  ])('%s is E_INVALID_KEY', async (_, region) => {
    const cache = make()
    const r = region as string
    await expect(cache.get('k', { region: r })).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.set('k', 1, { region: r })).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.clearRegion(r)).rejects.toThrow(errors.E_INVALID_KEY)
  })

  it('undefined values are E_INVALID_VALUE; bad per-call expirations are E_INVALID_EXPIRATION', async () => {
    const cache = make()
    await expect(cache.set('k', undefined)).rejects.toThrow(errors.E_INVALID_VALUE)
    await expect(cache.add('k', undefined)).rejects.toThrow(errors.E_INVALID_VALUE)
    await expect(cache.addOrUpdate('k', undefined, (v) => v)).rejects.toThrow(errors.E_INVALID_VALUE)
    await expect(cache.set('k', 1, { expiration: { mode: 'absolute', ttl: 0 } })).rejects.toThrow(
      errors.E_INVALID_EXPIRATION,
    )
    await expect(cache.expire('k', { mode: 'weird' } as never)).rejects.toThrow(errors.E_INVALID_EXPIRATION)
    await expect(cache.update('k', (v) => v, { maxRetries: -1 })).rejects.toThrow(errors.E_INVALID_OPTIONS)
    expect(await cache.has('k')).toBe(false)
  })

  it('calls after close() are E_CLOSED; close is idempotent', async () => {
    const cache = make()
    await cache.set('k', 1)
    await cache.close()
    await cache.close()
    await expect(cache.get('k')).rejects.toThrow(errors.E_CLOSED)
    await expect(cache.set('k', 2)).rejects.toThrow(errors.E_CLOSED)
    await expect(cache.getOrAdd('k', () => 2)).rejects.toThrow(errors.E_CLOSED)
    await expect(cache.clear()).rejects.toThrow(errors.E_CLOSED)
    await expect(cache.ready()).rejects.toThrow(errors.E_CLOSED)
  })

  it('close() closes the handles it was given', async () => {
    let closed = 0
    const memory = memoryHandle({ name: 'memory' })
    const handle = new Proxy(memory, {
      get: (t, p) =>
        p === 'close'
          ? () => {
              closed++
              return t.close()
            }
          : Reflect.get(t, p),
    })
    const cache = make({ handles: [handle] })
    await cache.close()
    expect(closed).toBe(1)
  })

  it('a handle whose bind rejects makes every call reject with a typed error', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const handle = new Proxy(memory, {
      get: (t, p) => (p === 'bind' ? () => Promise.reject(new Error('no such db')) : Reflect.get(t, p)),
    })
    const cache = make({ handles: [handle] })
    await expect(cache.get('k')).rejects.toMatchObject({ code: 'E_HANDLE_FAILED', source: 'memory' })
  })
})
