// The handle's CLOCK eviction: what it keeps (a write never evicts what it wrote, read items
// outlive one-off writes, a stream of new keys goes oldest first), what one eviction may cost,
// and, over seeded random sequences against a plain model, that the bounds, the counts and
// every reported eviction stay right through regions, removes, clearRegion and clear.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { ItemInput } from '@cacheplane/core'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { type MemoryCacheHandle, type MemoryHandleOptions, memoryHandle } from '../src/index.js'

const forever = (value: string): ItemInput<string> => ({
  value,
  mode: 'none',
  ttl: 0,
  expiresAt: 0,
  created: Date.now(),
})

const open: MemoryCacheHandle<string>[] = []
function handle(options: MemoryHandleOptions<string>): MemoryCacheHandle<string> {
  const h = memoryHandle<string>({ sweepIntervalMs: 0, ...options })
  open.push(h)
  return h
}
afterEach(() => {
  for (const h of open.splice(0)) h.close()
  vi.useRealTimers()
})

/** Keys evicted from `h`, as `key` or `region/key`, in order. */
function evictions(h: MemoryCacheHandle<string>): string[] {
  const evicted: string[] = []
  h.onEvict((key, region) => evicted.push(region === undefined ? key : `${region}/${key}`))
  return evicted
}

describe('memoryHandle eviction', () => {
  test('a write never evicts what it wrote', () => {
    const h = handle({ maxEntries: 1 })
    const evicted = evictions(h)
    for (const key of ['a', 'b', 'c']) {
      h.set(key, 'r', forever(key))
      expect(h.peek(key, 'r')?.value).toBe(key)
    }
    expect(evicted).toEqual(['r/a', 'r/b'])
    expect(h.size).toBe(1)
  })

  test('items read between writes outlive a stream of keys written once', () => {
    const h = handle({ maxEntries: 100 })
    const evicted = evictions(h)
    const hot = Array.from({ length: 20 }, (_, i) => `hot${i}`)
    for (const key of hot) h.set(key, undefined, forever(key))
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 10; i++) h.set(`once${round}-${i}`, i % 2 === 0 ? undefined : 'r', forever('x'))
      for (const key of hot) expect(h.get(key, undefined)?.value).toBe(key)
    }
    expect(evicted.length).toBe(2000 - 80)
    expect(evicted.filter((key) => key.startsWith('hot'))).toEqual([])
  })

  test('in a stream of new keys, the oldest go first', () => {
    const h = handle({ maxEntries: 100 })
    for (let i = 0; i < 2000; i++) {
      h.set(`k${i}`, undefined, forever('x'))
      // The last 30 written are all there (exact LRU would keep the last 100).
      for (let back = 0; back < Math.min(30, i); back++)
        same(h.peek(`k${i - back}`, undefined) !== undefined, true, `k${i - back} after k${i}`)
    }
    expect(h.size).toBe(100)
  })
})

describe('memoryHandle eviction hand', () => {
  test('one eviction spares at most 64 marked items', () => {
    const h = handle({ maxEntries: 1000 })
    const evicted = evictions(h)
    for (let i = 0; i < 1000; i++) h.set(`k${i}`, undefined, forever('x'))
    for (let i = 0; i < 1000; i++) h.get(`k${i}`, undefined)
    h.set('new', undefined, forever('x'))
    // Every item was read: the hand spares k0..k63 and evicts the next one.
    expect(evicted).toEqual(['k64'])
  })

  test('the hand keeps its place through a remove and a write that evicts nothing', () => {
    const h = handle({ maxEntries: 10 })
    const evicted = evictions(h)
    for (let i = 0; i < 10; i++) h.set(`k${i}`, undefined, forever('x'))
    for (let i = 0; i < 5; i++) h.get(`k${i}`, undefined)
    h.set('k10', undefined, forever('x')) // k0-k4 keep one mark, k5-k9 lose theirs, k5 goes
    h.get('k0', undefined)
    h.remove('k9', undefined)
    h.set('n1', undefined, forever('x')) // fills the room k9 left: nothing to evict
    h.set('n2', undefined, forever('x'))
    // From where the hand stopped: k6. Started over, it would have taken k1.
    expect(evicted).toEqual(['k5', 'k6'])
  })

  test('moving the time base keeps every mark', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle({ maxEntries: 4 })
    const evicted = evictions(h)
    for (const key of ['a', 'b', 'c']) h.set(key, undefined, forever(key))
    h.get('a', undefined)
    h.get('c', undefined)
    // 13 days on, the next write counts entry times from a new base (and re-points every entry).
    vi.advanceTimersByTime(13 * 86_400_000)
    h.set('d', undefined, forever('d'))
    h.set('e', undefined, forever('e'))
    // a and c were read, b only written: b is the one to go, as without the move.
    expect(evicted).toEqual(['b'])
  })
})

/** A full garbage collection (the flag set at run time, the function taken from a new context). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

/**
 * 110 items written into region `r` of a handle bound to 100 (so the hand is in that region's
 * table), and weak references to their values. Not in the async test itself: a suspended async
 * function keeps the values its registers last held.
 */
function filled(): { h: MemoryCacheHandle<object>; values: Array<WeakRef<object>> } {
  const h = memoryHandle<object>({ maxEntries: 100, sweepIntervalMs: 0 })
  const values: Array<WeakRef<object>> = []
  for (let i = 0; i < 110; i++) {
    const value = { i }
    values.push(new WeakRef(value))
    h.set(`k${i}`, 'r', { value, mode: 'none', ttl: 0, expiresAt: 0, created: Date.now() })
  }
  return { h, values }
}

describe('memoryHandle eviction hand and garbage', () => {
  // The hand is a map iterator, which keeps alive the storage its map had when it last moved.
  test.each([
    ['clearRegion', (h: MemoryCacheHandle<object>) => h.clearRegion('r')],
    [
      'removes',
      (h: MemoryCacheHandle<object>) => {
        for (let i = 0; i < 110; i++) h.remove(`k${i}`, 'r')
      },
    ],
  ])('items gone by %s are not kept alive by the hand', async (_, takeAway) => {
    const { h, values } = filled()
    takeAway(h)
    // A WeakRef holds its target to the end of the job that read it.
    await new Promise((resolve) => setImmediate(resolve))
    collectGarbage()
    expect(values.flatMap((ref, i) => (ref.deref() === undefined ? [] : [i]))).toEqual([])
    h.close()
  })
})

/** A seeded generator (mulberry32): every failure names the seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

const REGIONS = [undefined, 'r1', 'r2'] as const
const KEYS = ['a', 'b', 'c', 'd', 'e']

/** `expect` only on a mismatch: called a million times, it would be most of the test's time. */
function same(actual: unknown, expected: unknown, message: string): void {
  if (actual !== expected) expect(actual, message).toBe(expected)
}

/** One random sequence against the model: what is stored is what was written and not taken away since. */
function runSequence(seed: number, bounded: 'entries' | 'bytes'): void {
  const next = random(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T
  const maxEntries = bounded === 'entries' ? 1 + Math.floor(next() * 8) : 1000
  const maxBytes = 12
  const h = handle(
    bounded === 'entries'
      ? { maxEntries }
      : { maxEntries, maxBytes, sizeOf: (value: string) => value.length },
  )
  const model = new Map<string, string>()
  const id = (key: string, region: string | undefined) => `${region ?? ''}/${key}`
  h.onEvict((key, region, reason) => {
    const where = id(key, region)
    same(reason, 'evicted', `seed ${seed}`)
    same(model.has(where), true, `seed ${seed}: evicted ${where}, which was not stored`)
    model.delete(where)
  })
  for (let step = 0; step < 300; step++) {
    const key = pick(KEYS)
    const region = pick(REGIONS)
    const op = next()
    if (op < 0.45) {
      // Sizes 0 to 4: with the byte bound, entries of no size make the hand walk past many.
      const value = 'v'.repeat(Math.floor(next() * 5))
      h.set(key, region, forever(value))
      model.set(id(key, region), value)
      same(h.peek(key, region)?.value, value, `seed ${seed}: a write evicted what it wrote`)
    } else if (op < 0.75) {
      same(h.get(key, region)?.value, model.get(id(key, region)), `seed ${seed}: get`)
    } else if (op < 0.88) {
      same(h.remove(key, region), model.delete(id(key, region)), `seed ${seed}: remove`)
    } else if (op < 0.97) {
      const cleared = pick(REGIONS.slice(1)) as string
      h.clearRegion(cleared)
      for (const where of [...model.keys()]) if (where.startsWith(`${cleared}/`)) model.delete(where)
    } else {
      h.clear()
      model.clear()
    }
    same(h.size, model.size, `seed ${seed}: size`)
    same(h.size <= maxEntries, true, `seed ${seed}: ${h.size} items, over maxEntries`)
    if (bounded === 'bytes') {
      const bytes = [...model.values()].reduce((sum, value) => sum + value.length, 0)
      same(h.bytes, bytes, `seed ${seed}: bytes`)
      same(h.bytes <= maxBytes, true, `seed ${seed}: ${h.bytes} bytes, over maxBytes`)
    }
    for (const r of REGIONS)
      for (const k of KEYS) same(h.peek(k, r)?.value, model.get(id(k, r)), `seed ${seed}: ${id(k, r)}`)
  }
}

describe('memoryHandle eviction against a model', () => {
  test.each(['entries', 'bytes'] as const)(
    'bound by %s: sizes, byte counts and reported evictions stay right over 400 random sequences',
    (bounded) => {
      for (let seed = 1; seed <= 400; seed++) runSequence(seed, bounded)
    },
  )
})
