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

describe('memoryHandle absolute items with a TTL of their own', () => {
  /** An item written now with `ttl`, as core writes one: its expiry minus its creation is its TTL. */
  const timed = (value: string, ttl: number): ItemInput<string> => {
    const created = Date.now()
    return { value, mode: 'absolute', ttl, expiresAt: created + ttl, created }
  }
  /** The shape an entry points to (the handle returns the entry itself). */
  const shapeOf = (stored: unknown) => (stored as { shape: { table: unknown } }).shape

  test('each reports its own TTL, and all share one shape', () => {
    const h = handle()
    const written = Array.from({ length: 200 }, (_, i) => timed(`v${i}`, 60_000 + i * 7))
    written.forEach((input, i) => {
      h.set(`k${i}`, 'r', input)
    })
    written.forEach((input, i) => {
      expect(h.peek(`k${i}`, 'r')).toMatchObject({
        ttl: input.ttl,
        expiresAt: input.expiresAt,
        created: input.created,
      })
    })
    // Written and not read: one mark, so one shape for all 200 (past the 64 a table remembers).
    expect(new Set(written.map((_, i) => shapeOf(h.peek(`k${i}`, 'r')))).size).toBe(1)
  })

  test('each still reports its own TTL after the handle moves its time base', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle()
    const ttls = [1_000, 40 * 86_400_000, 2 ** 31 + 5]
    ttls.forEach((ttl, i) => {
      h.set(`k${i}`, undefined, timed(`v${i}`, ttl))
    })
    vi.advanceTimersByTime(13 * 86_400_000)
    h.set('later', undefined, timed('later', 5_000)) // the write that moves the base
    expect(ttls.map((_, i) => h.peek(`k${i}`, undefined)?.ttl)).toEqual([undefined, ...ttls.slice(1)])
    expect(h.peek('later', undefined)?.ttl).toBe(5_000)
  })
})
