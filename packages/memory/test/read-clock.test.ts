import { setTimeout as sleep } from 'node:timers/promises'
import type { ItemInput } from '@cacheplane/core'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { memoryHandle } from '../src/index.js'
import { READS_PER_READING } from '../src/read-clock.js'

// Hits check expiry against a shared reading of the clock instead of calling Date.now()
// each time (it costs as much as the rest of a hit and allocates). How far the reading may
// lag is the contract: at most READS_PER_READING reads in one turn of the event loop, about
// 1 ms across turns, and not at all while Date.now is replaced.

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
  test('within one turn, an expired item is served by at most READS_PER_READING - 1 reads', () => {
    const handle = memoryHandle<string>({ sweepIntervalMs: 0 })
    const written = expiring('v', TTL_MS)
    handle.set('k', undefined, written)
    expect(handle.get('k', undefined)?.value).toBe('v')
    spinUntil(written.expiresAt + 1)
    let served = 0
    for (let i = 0; i < 10 * READS_PER_READING; i++) {
      if (handle.get('k', undefined) === undefined) break
      served++
    }
    expect(served).toBeLessThanOrEqual(READS_PER_READING - 1)
    expect(handle.peek('k', undefined)).toBeUndefined()
  })

  test('peek shares the reading under the same bound', () => {
    const handle = memoryHandle<string>({ sweepIntervalMs: 0 })
    const written = expiring('v', TTL_MS)
    handle.set('k', undefined, written)
    expect(handle.peek('k', undefined)?.value).toBe('v')
    spinUntil(written.expiresAt + 1)
    let served = 0
    for (let i = 0; i < 10 * READS_PER_READING; i++) {
      if (handle.peek('k', undefined) === undefined) break
      served++
    }
    expect(served).toBeLessThanOrEqual(READS_PER_READING - 1)
  })

  test('a reading does not outlast a timer of a later turn', async () => {
    const handle = memoryHandle<string>({ sweepIntervalMs: 0 })
    const written = expiring('v', TTL_MS)
    handle.set('k', undefined, written)
    expect(handle.get('k', undefined)?.value).toBe('v')
    spinUntil(written.expiresAt + 1)
    // The reading's timer (due 1 ms after it was taken, or earlier) runs before this one.
    await sleep(5)
    expect(handle.get('k', undefined)).toBeUndefined()
  })

  test('an awaited loop of hits, which never leaves the microtask queue, still sees the expiry', async () => {
    const handle = memoryHandle<string>({ sweepIntervalMs: 0 })
    const written = expiring('v', TTL_MS)
    handle.set('k', undefined, written)
    let served = 0
    let expiredAfter = -1
    // Gives up a second past the expiry (the test's own Date.now() calls are not the handle's).
    while (Date.now() < written.expiresAt + 1_000) {
      const hit = await Promise.resolve(handle.get('k', undefined))
      if (hit === undefined) {
        expiredAfter = Date.now() - written.expiresAt
        break
      }
      served++
    }
    expect(served).toBeGreaterThan(0)
    // Sixteen hits take microseconds: the miss comes soon after the expiry, not never.
    expect(expiredAfter).toBeGreaterThanOrEqual(0)
  })

  test('a replaced Date.now is read on every hit', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const handle = memoryHandle<string>({ sweepIntervalMs: 0 })
    handle.set('k', undefined, expiring('v', 10))
    expect(handle.get('k', undefined)?.value).toBe('v')
    vi.advanceTimersByTime(10)
    expect(handle.get('k', undefined)).toBeUndefined()
  })

  test('a reading taken before Date.now was replaced is not used after it is restored', async () => {
    const handle = memoryHandle<string>({ sweepIntervalMs: 0 })
    handle.set('other', undefined, expiring('o', 60_000))
    await sleep(5) // any earlier reading is dropped: the next hit takes a fresh one
    const written = expiring('v', TTL_MS)
    handle.set('k', undefined, written)
    expect(handle.get('k', undefined)?.value).toBe('v')
    spinUntil(written.expiresAt + 1)
    const real = Date.now
    Date.now = () => real() // a test's clock: read on every hit
    try {
      expect(handle.get('other', undefined)?.value).toBe('o')
    } finally {
      Date.now = real
    }
    // The reading from before the replacement is gone, so this hit reads the clock.
    expect(handle.get('k', undefined)).toBeUndefined()
  })
})
