import type { ItemInput } from '@cacheplane/core'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { type MemoryCacheHandle, memoryHandle } from '../src/index.js'

// Entries written alike share one shape (mode, TTL, grace, table): these tests check that
// sharing never mixes up what each item reports, also past the per-table shape limit.
const item = (
  value: string,
  mode: 'none' | 'absolute' | 'sliding',
  ttl: number,
  grace = 0,
): ItemInput<string> => ({
  value,
  mode,
  ttl: mode === 'none' ? 0 : ttl,
  expiresAt: mode === 'none' ? 0 : Date.now() + ttl,
  created: Date.now() - 5,
  grace,
})

const open: MemoryCacheHandle<string>[] = []
function handle(): MemoryCacheHandle<string> {
  const h = memoryHandle<string>({ sweepIntervalMs: 0, maxEntries: 10_000 })
  open.push(h)
  return h
}
afterEach(() => {
  for (const h of open.splice(0)) h.close()
  vi.useRealTimers()
})

describe('memoryHandle entries sharing their expiration', () => {
  test('each item reports its own mode, ttl, grace, expiry and creation, in and out of regions', () => {
    const h = handle()
    const written: Array<[string, string | undefined, ItemInput<string>]> = []
    // 200 distinct TTLs: past the number of shapes a table remembers.
    for (let i = 0; i < 200; i++) {
      const region = i % 3 === 0 ? undefined : `r${i % 2}`
      const mode = i % 5 === 0 ? 'none' : i % 2 === 0 ? 'sliding' : 'absolute'
      const input = item(`v${i}`, mode, 60_000 + i, mode === 'absolute' ? i : 0)
      h.set(`k${i}`, region, input)
      written.push([`k${i}`, region, input])
    }
    for (const [key, region, input] of written) {
      const stored = h.peek(key, region)
      expect(stored).toMatchObject({
        value: input.value,
        mode: input.mode,
        ttl: input.ttl,
        expiresAt: input.expiresAt,
        created: input.created,
        grace: input.grace,
      })
    }
  })

  test('a region emptied and filled again gets items with their own expiration', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle()
    const events: string[] = []
    h.onEvict((key, region, reason) => events.push(`${key}:${region}:${reason}`))
    h.set('a', 'r', item('A', 'absolute', 100))
    h.clearRegion('r')
    h.set('b', 'r', item('B', 'absolute', 200))
    vi.advanceTimersByTime(150)
    expect(h.get('b', 'r')?.value).toBe('B')
    vi.advanceTimersByTime(100)
    expect(h.get('b', 'r')).toBeUndefined()
    expect(events).toEqual(['b:r:expired'])
    expect(h.size).toBe(0)
  })
})
