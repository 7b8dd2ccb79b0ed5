import { CacheManager } from '@cacheplane/core'
import { randomKey, removeAndReAddDuringUpdate } from '@cacheplane/core/testing'
import { afterEach, expect, test } from 'vitest'
import { memoryHandle } from '../src/index.js'

const open: CacheManager<number>[] = []
afterEach(async () => {
  for (const cache of open.splice(0)) await cache.close()
})

test('memory only: an update prepared before remove + add retries on the new item', async () => {
  const cache = new CacheManager<number>({ name: randomKey('c'), handles: [memoryHandle()] })
  open.push(cache)
  expect(await removeAndReAddDuringUpdate(cache)).toBe(105)
})

test('memory over a distributed memory store: the same, at the bottom', async () => {
  const cache = new CacheManager<number>({
    name: randomKey('c'),
    handles: [memoryHandle(), memoryHandle({ name: 'store', distributed: true })],
  })
  open.push(cache)
  expect(await removeAndReAddDuringUpdate(cache)).toBe(105)
})

test('clear between the read and the write: the update does not apply to the new item', async () => {
  const cache = new CacheManager<number>({ name: randomKey('c'), handles: [memoryHandle()] })
  open.push(cache)
  const k = randomKey('k')
  await cache.set(k, 1)
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let calls = 0
  const pending = cache.update(k, async (v) => {
    if (calls++ === 0) await gate
    return v + 100
  })
  await cache.clear()
  await cache.set(k, 5)
  release()
  expect(await pending).toBe(105)
})
