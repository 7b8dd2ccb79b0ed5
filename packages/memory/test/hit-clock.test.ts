import { HIT_CLOCK_READS, type ItemInput } from '@cacheplane/core'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { memoryHandle } from '../src/index.js'

// Hits check expiry against core's hitClock, a shared reading of the clock (its own tests:
// core's hit-clock.test.ts). Here: the handle's get and peek keep its bound, and read a
// replaced Date.now at once.

/** Long enough that a stalled test process does not see the item expire before it means to. */
const TTL_MS = 50

const expiring = (value: string, ttl: number): ItemInput<string> => {
  const now = Date.now()
  return { value, mode: 'absolute', ttl, expiresAt: now + ttl, created: now }
}

/** Spins without yielding until the clock passes `epochMs`: one turn of the event loop. */
function spinUntil(epochMs: number): void {
  while (Date.now() <= epochMs) {
    // busy: nothing else may run
  }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('memory handle: the clock of a hit', () => {
  test.each(['get', 'peek'] as const)(
    'within one turn, an expired item is served by at most HIT_CLOCK_READS - 1 reads (%s)',
    (read) => {
      const handle = memoryHandle<string>({ sweepIntervalMs: 0 })
      const written = expiring('v', TTL_MS)
      handle.set('k', undefined, written)
      expect(handle[read]('k', undefined)?.value).toBe('v')
      spinUntil(written.expiresAt + 1)
      let served = 0
      for (let i = 0; i < 10 * HIT_CLOCK_READS; i++) {
        if (handle[read]('k', undefined) === undefined) break
        served++
      }
      expect(served).toBeLessThanOrEqual(HIT_CLOCK_READS - 1)
    },
  )

  test('a replaced Date.now is read on every hit', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const handle = memoryHandle<string>({ sweepIntervalMs: 0 })
    handle.set('k', undefined, expiring('v', 10))
    expect(handle.get('k', undefined)?.value).toBe('v')
    vi.advanceTimersByTime(10)
    expect(handle.get('k', undefined)).toBeUndefined()
  })
})
