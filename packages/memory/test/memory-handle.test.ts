import { InvalidOptionsError, type ItemInput, ValueTooLargeError } from '@cacheplane/core'
import { waitFor } from '@cacheplane/core/testing'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { type MemoryCacheHandle, memoryHandle } from '../src/index.js'

const forever = <V>(value: V, version?: number): ItemInput<V> => ({
  value,
  mode: 'none',
  ttl: 0,
  expiresAt: 0,
  created: Date.now(),
  ...(version === undefined ? {} : { version }),
})
const absolute = <V>(value: V, ttl: number): ItemInput<V> => ({
  value,
  mode: 'absolute',
  ttl,
  expiresAt: Date.now() + ttl,
  created: Date.now(),
})
const sliding = <V>(value: V, ttl: number): ItemInput<V> => ({ ...absolute(value, ttl), mode: 'sliding' })

const open: MemoryCacheHandle<unknown>[] = []
function handle<V>(options?: Parameters<typeof memoryHandle<V>>[0]): MemoryCacheHandle<V> {
  const h = memoryHandle<V>({ sweepIntervalMs: 0, ...options })
  open.push(h as MemoryCacheHandle<unknown>)
  return h
}
afterEach(() => {
  for (const h of open.splice(0)) h.close()
  vi.useRealTimers()
})

describe('memoryHandle bounds', () => {
  test('evicts the least recently used item beyond maxEntries, and a get counts as use', () => {
    const h = handle<string>({ maxEntries: 3 })
    const evicted: string[] = []
    h.onEvict((key, _region, reason) => evicted.push(`${key}:${reason}`))
    h.set('a', undefined, forever('A'))
    h.set('b', undefined, forever('B'))
    h.set('c', 'r', forever('C'))
    expect(h.get('a', undefined)?.value).toBe('A') // a is now the most recent; b is the coldest
    h.set('d', undefined, forever('D'))
    expect(evicted).toEqual(['b:evicted'])
    expect(h.get('b', undefined)).toBeUndefined()
    expect(h.size).toBe(3)
    h.set('e', undefined, forever('E')) // c (in region r) is now the coldest
    expect(evicted).toEqual(['b:evicted', 'c:evicted'])
    expect(h.get('c', 'r')).toBeUndefined()
    expect(['a', 'd', 'e'].map((k) => h.get(k, undefined)?.value)).toEqual(['A', 'D', 'E'])
  })

  test('overwriting a key does not count it twice', () => {
    const h = handle<number>({ maxEntries: 2 })
    for (let i = 0; i < 10; i++) h.set('a', undefined, forever(i))
    h.set('b', undefined, forever(0))
    expect(h.size).toBe(2)
    expect(h.get('a', undefined)?.value).toBe(9)
  })

  test('maxBytes evicts cold items until the total fits, and rejects a value that can never fit', () => {
    const h = handle<string>({ maxEntries: 100, maxBytes: 10, sizeOf: (v) => v.length })
    const evicted: string[] = []
    h.onEvict((key) => evicted.push(key))
    h.set('a', undefined, forever('aaaa'))
    h.set('b', undefined, forever('bbbb'))
    expect(h.bytes).toBe(8)
    h.set('c', undefined, forever('cccc'))
    expect(evicted).toEqual(['a'])
    expect(h.bytes).toBe(8)
    h.set('b', undefined, forever('bb')) // replacing adjusts the byte count
    expect(h.bytes).toBe(6)
    expect(() => h.set('c', undefined, forever('x'.repeat(11)))).toThrow(ValueTooLargeError)
    expect(h.get('c', undefined)).toBeUndefined() // the old value of a failed write is stale: dropped
    expect(h.bytes).toBe(2)
  })

  test('distributed mode sizes bytes by byteLength', () => {
    const h = handle<Uint8Array>({ distributed: true, maxBytes: 100 })
    h.set('a', undefined, forever(new Uint8Array(60)))
    h.set('b', undefined, forever(new Uint8Array(60)))
    expect(h.get('a', undefined)).toBeUndefined()
    expect(h.bytes).toBe(60)
  })
})

describe('memoryHandle expiry', () => {
  test('items without expiry never read the clock', () => {
    const h = handle<string>()
    h.set('a', 'r', forever('A'))
    const now = vi.spyOn(Date, 'now')
    for (let i = 0; i < 100; i++) expect(h.get('a', 'r')?.value).toBe('A')
    expect(now).not.toHaveBeenCalled()
    now.mockRestore()
  })

  test('a hit returns the same object each time (no allocation)', () => {
    const h = handle<string>()
    h.set('a', undefined, absolute('A', 60_000))
    expect(h.get('a', undefined)).toBe(h.get('a', undefined))
  })

  test('expired items are never returned and are reported once as expired', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle<string>()
    const events: string[] = []
    h.onEvict((key, region, reason) => events.push(`${key}:${region}:${reason}`))
    h.set('a', 'r', absolute('A', 100))
    vi.advanceTimersByTime(99)
    expect(h.get('a', 'r')?.value).toBe('A')
    vi.advanceTimersByTime(1)
    expect(h.get('a', 'r')).toBeUndefined()
    expect(h.get('a', 'r')).toBeUndefined()
    expect(events).toEqual(['a:r:expired'])
    expect(h.size).toBe(0)
  })

  test('a get extends a sliding item to now + ttl', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle<string>()
    h.set('a', undefined, sliding('A', 100))
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(60)
      expect(h.get('a', undefined)?.expiresAt).toBe(Date.now() + 100)
    }
    vi.advanceTimersByTime(100)
    expect(h.get('a', undefined)).toBeUndefined()
  })

  test('touch extends a sliding item and leaves an absolute one alone', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle<string>()
    h.set('s', undefined, sliding('S', 100))
    h.set('a', undefined, absolute('A', 100))
    vi.advanceTimersByTime(60)
    expect(h.touch('s', undefined)).toBe(true)
    expect(h.touch('a', undefined)).toBe(true)
    vi.advanceTimersByTime(60)
    expect(h.get('s', undefined)?.value).toBe('S')
    expect(h.get('a', undefined)).toBeUndefined()
    expect(h.touch('a', undefined)).toBe(false)
  })

  test('the sweep removes expired items and emits expired', async () => {
    const h = handle<string>({ sweepIntervalMs: 20 })
    const events: string[] = []
    h.onEvict((key, _region, reason) => events.push(`${key}:${reason}`))
    h.set('short', undefined, absolute('S', 30))
    h.set('long', undefined, absolute('L', 60_000))
    h.set('never', 'r', forever('N'))
    // Nobody reads: only the timer can remove the expired item.
    await waitFor(() => h.size === 2, { timeoutMs: 5_000 })
    expect(events).toEqual(['short:expired'])
    expect(h.get('long', undefined)?.value).toBe('L')
  })

  test('sweep() can be called directly and counts what it removed', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle<number>()
    for (let i = 0; i < 10; i++) h.set(`k${i}`, i % 2 ? 'odd' : undefined, absolute(i, i < 5 ? 10 : 1_000))
    vi.advanceTimersByTime(15)
    expect(h.sweep()).toBe(5)
    expect(h.size).toBe(5)
  })

  test('remove and clear do not emit evict events', () => {
    const h = handle<string>()
    const listener = vi.fn()
    h.onEvict(listener)
    h.set('a', undefined, forever('A'))
    h.set('b', 'r', forever('B'))
    expect(h.remove('a', undefined)).toBe(true)
    h.clearRegion('r')
    h.set('c', undefined, forever('C'))
    h.clear()
    expect(listener).not.toHaveBeenCalled()
  })

  test('an unsubscribed listener is not called', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle<string>()
    const listener = vi.fn()
    const off = h.onEvict(listener)
    off()
    h.set('a', undefined, absolute('A', 10))
    vi.advanceTimersByTime(10)
    expect(h.get('a', undefined)).toBeUndefined()
    expect(listener).not.toHaveBeenCalled()
  })
})

describe('memoryHandle writes', () => {
  test('a write never changes an item a reader already holds', () => {
    const h = handle<string>()
    h.set('a', undefined, forever('A'))
    const held = h.get('a', undefined)
    h.set('a', undefined, forever('B'))
    expect(held?.value).toBe('A')
    expect(held?.version).toBe(1)
    expect(h.get('a', undefined)?.version).toBe(2)
  })

  test('timestamps far from now (copies of old items, long TTLs) are kept exactly', () => {
    const h = handle<string>()
    const day = 24 * 60 * 60 * 1000
    const created = Date.now() - 400 * day
    const expiresAt = Date.now() + 3650 * day + 0.5
    h.set('old', undefined, { value: 'v', mode: 'absolute', ttl: 4050 * day, expiresAt, created })
    expect(h.get('old', undefined)).toMatchObject({ created, expiresAt, ttl: 4050 * day })
    const now = Date.now()
    h.set('recent', undefined, {
      value: 'v',
      mode: 'absolute',
      ttl: 1_000,
      expiresAt: now + 1_000,
      created: now,
    })
    expect(h.get('recent', undefined)).toMatchObject({ created: now, expiresAt: now + 1_000 })
    expect(h.get('old', undefined)?.expiresAt).toBe(expiresAt)
  })

  test('byte accounting returns to zero after remove, clearRegion and clear', () => {
    const h = handle<string>({ maxBytes: 1_000, sizeOf: (v) => v.length })
    h.set('a', undefined, forever('aaa'))
    h.set('b', 'r', forever('bb'))
    h.set('c', undefined, forever('c'))
    expect(h.bytes).toBe(6)
    h.remove('a', undefined)
    h.clearRegion('r')
    expect(h.bytes).toBe(1)
    h.clear()
    expect(h.bytes).toBe(0)
  })

  test('add and set treat an expired item as absent', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const h = handle<string>()
    const expired = h.set('a', undefined, absolute('A', 10))
    vi.advanceTimersByTime(10)
    expect(h.add('a', undefined, forever('B'))).toBe(true)
    // A new item never takes a version the key had (an update prepared against it must fail).
    expect(h.get('a', undefined)?.version).not.toBe(expired)
  })

  test('versions come from one counter per handle that remove and clear never reset', () => {
    const h = handle<string>()
    expect(h.set('a', undefined, forever('A'))).toBe(1)
    expect(h.set('b', undefined, forever('B'))).toBe(2)
    h.remove('a', undefined)
    h.clear()
    expect(h.add('a', undefined, forever('A'))).toBe(true)
    expect(h.get('a', undefined)?.version).toBe(3)
    expect(h.expire('a', undefined, 'absolute', 1_000, Date.now() + 1_000)).toBe(true)
    expect(h.get('a', undefined)?.version).toBe(4)
  })

  test('expire writes a new entry: an entry a reader holds keeps its expiration and version', () => {
    const h = handle<string>()
    h.set('a', undefined, forever('A'))
    const held = h.get('a', undefined)
    h.expire('a', undefined, 'sliding', 1_000, Date.now() + 1_000)
    expect(held).toMatchObject({ mode: 'none', expiresAt: 0, version: 1 })
    expect(h.get('a', undefined)).toMatchObject({ value: 'A', mode: 'sliding', ttl: 1_000, version: 2 })
    expect(h.size).toBe(1)
  })

  test('clearRegion drops the region and its items only', () => {
    const h = handle<string>()
    h.set('k', 'a', forever('A'))
    h.set('k', 'b', forever('B'))
    h.set('k', undefined, forever('none'))
    h.clearRegion('a')
    expect(h.size).toBe(2)
    expect(h.get('k', 'a')).toBeUndefined()
    expect(h.get('k', 'b')?.value).toBe('B')
    expect(h.get('k', undefined)?.value).toBe('none')
  })

  test('close stops the sweep timer and empties the handle', () => {
    const h = memoryHandle<string>({ sweepIntervalMs: 10 })
    const clear = vi.spyOn(globalThis, 'clearInterval')
    h.set('a', undefined, forever('A'))
    h.close()
    expect(clear).toHaveBeenCalledTimes(1)
    expect(h.size).toBe(0)
    clear.mockRestore()
  })
})

describe('memoryHandle bind', () => {
  test('a local handle belongs to one manager', () => {
    const h = handle()
    h.bind('users')
    expect(() => h.bind('orders')).toThrow(InvalidOptionsError)
    expect(() => h.bind('users')).toThrow(/belongs to one manager/)
  })

  test('a distributed handle may be bound by many managers of the same cache name only', () => {
    const h = handle({ distributed: true })
    h.bind('users')
    h.bind('users')
    expect(() => h.bind('orders')).toThrow(InvalidOptionsError)
  })

  test('capabilities follow the distributed option', () => {
    expect(handle().capabilities).toMatchObject({
      distributed: false,
      bytes: false,
      synchronous: true,
      cas: true,
    })
    expect(handle({ distributed: true }).capabilities).toMatchObject({ distributed: true, bytes: true })
  })
})

describe('memoryHandle options', () => {
  test.each<[Record<string, unknown>, RegExp]>([
    [{ name: '' }, /name/],
    [{ maxEntries: 0 }, /maxEntries/],
    [{ maxEntries: 1.5 }, /maxEntries/],
    [{ maxBytes: -1, sizeOf: () => 1 }, /maxBytes/],
    [{ maxBytes: 100 }, /sizeOf/],
    [{ sizeOf: () => 1 }, /maxBytes/],
    [{ sweepIntervalMs: -1 }, /sweepIntervalMs/],
    [{ sweepIntervalMs: Number.POSITIVE_INFINITY }, /sweepIntervalMs/],
    [{ distributed: 'yes' }, /distributed/],
  ])('rejects %o', (options, message) => {
    expect(() => memoryHandle(options as never)).toThrow(InvalidOptionsError)
    expect(() => memoryHandle(options as never)).toThrow(message)
  })

  test('a sizeOf that returns garbage is a typed error', () => {
    const h = handle<string>({ maxBytes: 10, sizeOf: () => Number.NaN })
    expect(() => h.set('a', undefined, forever('A'))).toThrow(InvalidOptionsError)
  })
})
