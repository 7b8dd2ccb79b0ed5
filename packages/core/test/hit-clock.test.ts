import { setTimeout as sleep } from 'node:timers/promises'
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { CacheManager, HIT_CLOCK_READS, hitClock, hitClockSince } from '../src/index.js'

// Hits check expiry against a shared reading of the clock instead of calling Date.now() each
// time (it costs as much as the rest of a memory hit and allocates). How far the reading may
// lag is the contract: at most HIT_CLOCK_READS reads in one turn of the event loop, about 1 ms
// across turns, and not at all while Date.now is replaced.

/** Spins without yielding until the clock passes `epochMs`: one turn of the event loop. */
function spinUntil(epochMs: number): void {
  while (Date.now() <= epochMs) {
    // busy: nothing else may run
  }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('hitClock', () => {
  test('within one turn, a reading serves at most HIT_CLOCK_READS reads', () => {
    const first = hitClock()
    spinUntil(first + 2)
    let stale = 0
    for (let i = 0; i < 10 * HIT_CLOCK_READS; i++) {
      if (hitClock() > first) break
      stale++
    }
    expect(stale).toBeLessThanOrEqual(HIT_CLOCK_READS - 1)
  })

  test('a reading does not outlast a timer of a later turn', async () => {
    const first = hitClock()
    spinUntil(first + 2)
    // The reading's timer (due 1 ms after it was taken, or earlier) runs before this one.
    await sleep(5)
    expect(hitClock()).toBeGreaterThan(first + 2)
  })

  test('an awaited loop, which never leaves the microtask queue, takes new readings', async () => {
    const first = hitClock()
    spinUntil(first + 2)
    let later = first
    for (let i = 0; i < 10 * HIT_CLOCK_READS && later === first; i++)
      later = await Promise.resolve(hitClock())
    expect(later).toBeGreaterThan(first)
  })

  test('a replaced Date.now is read on every call', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    expect(hitClock()).toBe(Date.now())
    vi.advanceTimersByTime(10)
    expect(hitClock()).toBe(Date.now())
  })

  test('a reading taken before Date.now was replaced is not used after it is restored', async () => {
    await sleep(5) // any earlier reading is dropped: the next call takes a fresh one
    const first = hitClock()
    spinUntil(first + 2)
    const real = Date.now
    Date.now = () => real() // a test's clock: read on every call
    try {
      hitClock()
    } finally {
      Date.now = real
    }
    expect(hitClock()).toBeGreaterThan(first)
  })

  test('hitClockSince counts from the base, beyond a small integer too', () => {
    const now = Date.now()
    const since = hitClockSince({ base: now })
    expect(Number.isInteger(since)).toBe(true)
    expect(Math.abs(since)).toBeLessThan(1_000)
    const month = 30 * 86_400_000 // past 2^31 ms: must not wrap around
    expect(hitClockSince({ base: now - month }) - month).toBeGreaterThan(-1_000)
    expect(hitClockSince({ base: now - month }) - month).toBeLessThan(1_000)
  })
})

describe('a graced item on the hit path', () => {
  test('past its expiry, it is a peek miss within HIT_CLOCK_READS reads', () => {
    const cache = new CacheManager<string>({ name: 'hit-clock', handles: [memoryHandle()], grace: 60_000 })
    const expiresAt = Date.now() + 50
    cache.set('k', 'v', { expiration: { mode: 'absolute', ttl: 50 } })
    expect(cache.peek('k')).toBe('v')
    spinUntil(expiresAt + 1)
    let served = 0
    for (let i = 0; i < 10 * HIT_CLOCK_READS; i++) {
      if (cache.peek('k') === undefined) break
      served++
    }
    expect(served).toBeLessThanOrEqual(HIT_CLOCK_READS - 1)
  })
})
