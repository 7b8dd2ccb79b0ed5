import type { ItemInput, StoredItem } from '@cacheplane/core'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { type MemoryCacheHandle, memoryHandle } from '../src/index.js'

// Entry times are offsets from a time base, small integers that V8 keeps inside the entry.
// A process that runs for weeks must keep them small (or every entry grows by two heap
// numbers, and every sliding hit allocates one), and moving the base must not change a time
// anyone reads, held entries included.
const DAY = 86_400_000
/** What V8 keeps unboxed on 64-bit builds without pointer compression (Node's). */
const isSmall = (n: number | null): boolean =>
  n === null || (Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31)

/** The raw offsets of a stored entry (the handle returns the entry itself). */
const offsets = (item: StoredItem<string> | undefined) =>
  item as unknown as { expiry: number | null; born: number }

const item = (value: string, mode: 'none' | 'absolute' | 'sliding', ttl: number): ItemInput<string> => ({
  value,
  mode,
  ttl: mode === 'none' ? 0 : ttl,
  expiresAt: mode === 'none' ? 0 : Date.now() + ttl,
  created: Date.now(),
})

const open: MemoryCacheHandle<string>[] = []
function handle(sweepIntervalMs = 0): MemoryCacheHandle<string> {
  const h = memoryHandle<string>({ sweepIntervalMs, maxEntries: 10_000 })
  open.push(h)
  return h
}
afterEach(() => {
  for (const h of open.splice(0)) h.close()
  vi.useRealTimers()
})

/** Every entry's times as `peek` reports them, by key. */
function times(h: MemoryCacheHandle<string>, keys: readonly string[], region?: string) {
  return keys.map((key) => {
    const stored = h.peek(key, region)
    return stored === undefined ? undefined : { key, expiresAt: stored.expiresAt, created: stored.created }
  })
}

describe('memoryHandle time base', () => {
  test('a process running for 60 days keeps entry times small, and every time as written', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle()
    const keys = ['none', 'absolute', 'sliding']
    h.set('none', undefined, item('N', 'none', 0))
    h.set('absolute', 'r', item('A', 'absolute', 200 * DAY))
    h.set('sliding', undefined, item('S', 'sliding', 10 * DAY))
    const before = [...times(h, keys.slice(0, 1)), ...times(h, ['absolute'], 'r'), ...times(h, ['sliding'])]

    for (let day = 1; day <= 60; day++) {
      vi.advanceTimersByTime(DAY)
      h.set(`day${day}`, undefined, item(`D${day}`, 'absolute', 10 * DAY))
      const fresh = h.peek(`day${day}`, undefined)
      const { expiry, born } = offsets(fresh)
      expect(isSmall(expiry) && isSmall(born), `day ${day}: a new entry's offsets ${expiry}, ${born}`).toBe(
        true,
      )
      expect(fresh?.created).toBe(Date.now())
      expect(fresh?.expiresAt).toBe(Date.now() + 10 * DAY)
      // The sliding item is read every day: the expiry each hit writes moves with the clock
      // and stays small (its creation, 60 days back at the end, may not: a time that far from
      // the base boxes only itself, once).
      const sliding = h.get('sliding', undefined)
      expect(sliding?.expiresAt).toBe(Date.now() + 10 * DAY)
      expect(isSmall(offsets(sliding).expiry), `day ${day}: the sliding item's expiry offset`).toBe(true)
    }
    const after = [...times(h, keys.slice(0, 1)), ...times(h, ['absolute'], 'r'), ...times(h, ['sliding'])]
    expect(after[0]).toEqual(before[0])
    expect(after[1]).toEqual(before[1])
    expect(after[2]?.created).toBe(before[2]?.created)
    // Items written 9 days ago to today, still reported as written.
    for (let day = 51; day <= 60; day++) {
      expect(h.peek(`day${day}`, undefined)?.created).toBe(Date.now() - (60 - day) * DAY)
    }
  })

  test('an entry held across a rebase, and dropped before it, reports the times it had', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle()
    h.set('k', undefined, item('old', 'absolute', 40 * DAY))
    const held = h.get('k', undefined) as StoredItem<string>
    const kept = { expiresAt: held.expiresAt, created: held.created }
    h.set('k', undefined, item('new', 'absolute', 40 * DAY)) // `held` is no longer in the handle
    vi.advanceTimersByTime(13 * DAY)
    h.set('other', undefined, item('o', 'none', 0)) // moves the base
    expect({ expiresAt: held.expiresAt, created: held.created }).toEqual(kept)
    expect(h.peek('k', undefined)?.created).toBe(kept.created)
  })

  test('expiry and grace work across a rebase', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle()
    h.set('short', undefined, { ...item('S', 'absolute', 13 * DAY + 1_000), grace: 5_000 })
    vi.advanceTimersByTime(13 * DAY)
    h.set('trigger', undefined, item('T', 'none', 0))
    expect(h.get('short', undefined)?.value).toBe('S')
    vi.advanceTimersByTime(2_000) // expired, in its grace: still returned (core decides)
    expect(h.get('short', undefined)?.expiresAt).toBeLessThan(Date.now())
    vi.advanceTimersByTime(5_000)
    expect(h.get('short', undefined)).toBeUndefined()
  })

  test('the sweep moves the base of a handle nobody writes to', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle()
    h.set('sliding', undefined, item('S', 'sliding', 5 * DAY))
    for (let day = 1; day <= 30; day++) {
      vi.advanceTimersByTime(DAY)
      h.sweep()
      expect(h.get('sliding', undefined)?.expiresAt).toBe(Date.now() + 5 * DAY)
    }
    expect(isSmall(offsets(h.peek('sliding', undefined)).expiry)).toBe(true)
  })
})
