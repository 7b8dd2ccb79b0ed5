import { CacheManager, errors } from '@cacheplane/core'
import { chaosHandle } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { expect, test } from 'vitest'
import { mapHandle } from './map-handle.js'

test('a failing store: reads fall back to memory, writes reject, the circuit opens', async () => {
  const store = chaosHandle(mapHandle({ store: new Map() }))
  const cache = new CacheManager<string>({
    name: 'chaos',
    handles: [memoryHandle(), store],
    circuitBreaker: { failureThreshold: 3, resetAfterMs: 60_000 },
  })
  await cache.set('k', 'v')
  store.failAlways()
  expect(await cache.get('k')).toBe('v') // answered by memory
  await expect(cache.set('k', 'w')).rejects.toBeInstanceOf(errors.E_HANDLE_FAILED)
  for (let i = 0; i < 3; i++) await cache.set(`x${i}`, 'x').catch(() => {})
  await expect(cache.set('k', 'w')).rejects.toBeInstanceOf(errors.E_CIRCUIT_OPEN)
  expect(cache.stats().handles.map?.circuit).toBe('open')
  await cache.close()
})
