// Grace: logical vs physical expiry, allowStale, stale marking, remote changes with grace,
// and the paths that must never serve a stale value (remove, clear, clearRegion, gap).
// The clock is vitest's fake Date: every boundary is exact.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  type CacheHandle,
  CacheManager,
  createBackplaneHub,
  decodeEnvelope,
  encodeEnvelope,
  errors,
  memoryBackplane,
} from '../src/index.js'
import { fitItem, lifetimeLimits, newItem } from '../src/expiration.js'
import { cluster, type Cluster, flakyBackplane, nextEvent, quiesce } from './sync-fixtures.js'

const TTL = 1_000
const GRACE = 10_000
const expiration = { mode: 'absolute', ttl: TTL } as const

let clusters: Cluster[] = []
const caches: CacheManager<unknown>[] = []
beforeEach(() => {
  vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] })
})
afterEach(async () => {
  vi.useRealTimers()
  for (const c of clusters.splice(0)) await c.close()
  for (const cache of caches.splice(0)) await cache.close()
  clusters = []
})

async function two(extra = {}): Promise<Cluster> {
  const c = await cluster(2, { extra: { expiration, grace: GRACE, ...extra } })
  clusters.push(c)
  return c
}

describe('logical and physical expiry', () => {
  it('a graced item is a miss for get at its expiry and served with allowStale until expiry + grace', async () => {
    const { managers } = await two()
    const a = managers[0]!
    await a.set('k', 'v1')
    vi.advanceTimersByTime(TTL - 1)
    expect(await a.get('k')).toBe('v1')
    vi.advanceTimersByTime(1) // exactly at expiresAt: logically expired
    expect(await a.get('k')).toBeUndefined()
    expect(await a.get('k', { allowStale: true })).toBe('v1')
    vi.advanceTimersByTime(GRACE - 1) // one ms before the physical end
    expect(await a.get('k', { allowStale: true })).toBe('v1')
    vi.advanceTimersByTime(1)
    expect(await a.get('k', { allowStale: true })).toBeUndefined()
    expect(a.stats().factory.staleReads).toBe(2)
  })

  it('has is false for an item past its expiry, kept for its grace', async () => {
    const { managers } = await two()
    const a = managers[0]!
    await a.set('k', 'v1')
    expect(await a.has('k')).toBe(true)
    vi.advanceTimersByTime(TTL)
    expect(await a.has('k')).toBe(false)
    expect(await a.get('k', { allowStale: true })).toBe('v1')
  })

  it('getItem marks a graced item stale: false while fresh, stale: true only with allowStale', async () => {
    const { managers } = await two()
    const a = managers[0]!
    await a.set('k', 'v1')
    expect(await a.getItem('k')).toMatchObject({ value: 'v1', stale: false, grace: GRACE })
    vi.advanceTimersByTime(TTL)
    expect(await a.getItem('k')).toBeUndefined()
    expect(await a.getItem('k', { allowStale: true })).toMatchObject({ value: 'v1', stale: true, level: 0 })
  })

  it('the distributed copy is kept for expiry + grace, and other instances read it stale too', async () => {
    const { managers, shared } = await two()
    await managers[0]!.set('k', 'v1')
    vi.advanceTimersByTime(TTL + 1)
    const stored = await shared.get('k', undefined)
    expect(stored).toMatchObject({ grace: GRACE })
    expect(await managers[1]!.get('k')).toBeUndefined()
    expect(await managers[1]!.getItem('k', { allowStale: true })).toMatchObject({ stale: true, level: 1 })
  })

  it('items without grace end at their expiry, even with allowStale', async () => {
    const { managers } = await two({ grace: 0 })
    await managers[0]!.set('k', 'v1')
    vi.advanceTimersByTime(TTL)
    expect(await managers[0]!.get('k', { allowStale: true })).toBeUndefined()
  })

  it('a per-call grace overrides the default; a sliding item with grace is rejected', async () => {
    const { managers } = await two({ grace: 0 })
    const a = managers[0]!
    await a.set('k', 'v1', { grace: 5_000 })
    vi.advanceTimersByTime(TTL + 4_000)
    expect(await a.get('k', { allowStale: true })).toBe('v1')
    await expect(a.set('s', 'v', { expiration: { mode: 'sliding', ttl: 100 }, grace: 5 })).rejects.toThrow(
      errors.E_INVALID_EXPIRATION,
    )
    await expect(a.set('s', 'v', { grace: -1 })).rejects.toThrow(errors.E_INVALID_EXPIRATION)
  })

  it('a fresh write over a stale copy replaces it on every level (copy-up and add)', async () => {
    const { managers } = await two()
    const [a, b] = managers as [CacheManager<unknown>, CacheManager<unknown>]
    await a.set('k', 'v1')
    expect(await b.get('k')).toBe('v1') // b copies it up
    vi.advanceTimersByTime(TTL)
    expect(await a.add('k', 'v2')).toBe(true) // only a stale item was there
    await quiesce(managers)
    expect(await b.get('k')).toBe('v2') // b's stale copy is replaced by the copy-up
    expect(await b.get('k')).toBe('v2')
    expect(b.stats().handles.memory!.hits).toBeGreaterThanOrEqual(1)
  })
})

/** `a` sets k = v1, which `b` reads into memory, then replaces it with v2; resolves once `b` heard it. */
async function replacedRemotely(a: CacheManager<unknown>, b: CacheManager<unknown>): Promise<void> {
  await a.set('k', 'v1')
  expect(await b.get('k')).toBe('v1')
  const heard = nextEvent(b, 'set', (e) => e.origin === 'remote')
  await a.set('k', 'v2')
  await heard
}

describe('expire and grace', () => {
  it('an item expired to none keeps its grace, and its copy in memory is a hit (no expiry, nothing stale)', async () => {
    const { managers } = await two()
    const [a, b] = managers as [CacheManager<unknown>, CacheManager<unknown>]
    await a.set('k', 'v')
    expect(await a.expire('k', { mode: 'none' })).toBe(true)
    expect(await b.get('k')).toBe('v') // copied up into b's memory: mode none, with its grace
    vi.setSystemTime(Date.now() + TTL + 1)
    expect(b.peek('k')).toBe('v')
    expect(await b.getItem('k')).toMatchObject({ mode: 'none', grace: GRACE })
  })
})

describe('remote changes with grace', () => {
  it('a remote set expires the local copy logically: reachable only with allowStale', async () => {
    const { managers } = await two()
    const [a, b] = managers as [CacheManager<unknown>, CacheManager<unknown>]
    await replacedRemotely(a, b)
    expect(b.peek('k')).toBeUndefined() // never the old value from memory
    const stale = await b.getItem('k', { allowStale: true })
    expect(stale).toMatchObject({ value: 'v2', stale: false }) // the store's fresh value wins
    expect(await b.get('k')).toBe('v2')
  })

  it('cut off from the store, an instance still has the old value for fail-safe (stale only)', async () => {
    const c = await cluster(2, { extra: { expiration, grace: GRACE } })
    clusters.push(c)
    const [a, b] = c.managers as [CacheManager<unknown>, CacheManager<unknown>]
    await replacedRemotely(a, b)
    await c.shared.remove('k', undefined) // the store lost it (restart without persistence)
    expect(await b.get('k')).toBeUndefined()
    expect(await b.get('k', { allowStale: true })).toBe('v1')
  })

  it("a stale read prefers the store's stale item to an older stale copy above it", async () => {
    const { managers } = await two()
    const [a, b] = managers as [CacheManager<unknown>, CacheManager<unknown>]
    await replacedRemotely(a, b) // b's copy of v1 is now stale, kept for fail-safe
    vi.setSystemTime(Date.now() + TTL) // v2 is stale in the store too
    expect(await b.get('k')).toBeUndefined()
    // Before: the first stale item the read met, b's older copy (v1).
    expect(await b.getItem('k', { allowStale: true })).toMatchObject({ value: 'v2', stale: true })
    expect(await b.getMany(['k'], { allowStale: true })).toEqual(['v2'])
  })

  it('remove, clear, clearRegion and an unrecovered gap delete: never served, stale or not', async () => {
    const { managers } = await two()
    const [a, b] = managers as [CacheManager<unknown>, CacheManager<unknown>]
    const region = 'r'
    for (const key of ['k1', 'k2', 'k3', 'k4']) {
      await a.set(key, key, { region })
      expect(await b.get(key, { region })).toBe(key)
    }
    vi.advanceTimersByTime(TTL) // all stale now, kept for their grace
    const removed = nextEvent(b, 'remove', (e) => e.origin === 'remote')
    await a.remove('k1', { region })
    await removed
    expect(await b.get('k1', { region, allowStale: true })).toBeUndefined()
    expect(await a.get('k1', { region, allowStale: true })).toBeUndefined()
    const cleared = nextEvent(b, 'clearRegion', (e) => e.origin === 'remote')
    await a.clearRegion(region)
    await cleared
    for (const m of managers) expect(await m.get('k2', { region, allowStale: true })).toBeUndefined()
    const clearedAll = nextEvent(b, 'clear', (e) => e.origin === 'remote')
    await a.set('k3', 'k3', { region })
    expect(await b.get('k3', { region })).toBe('k3')
    vi.advanceTimersByTime(TTL)
    await a.clear()
    await clearedAll
    for (const m of managers) expect(await m.get('k3', { region, allowStale: true })).toBeUndefined()
  })

  it('an unrecovered gap deletes graced local copies', async () => {
    const hub = createBackplaneHub()
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const transport = flakyBackplane(memoryBackplane({ hub, name: 'bp' }), 0)
    const b = new CacheManager<unknown>({
      name: 'users',
      handles: [memoryHandle({ name: 'memory' }) as CacheHandle<unknown>, shared],
      backplane: transport.backplane,
      expiration,
      grace: GRACE,
    })
    caches.push(b)
    await b.ready()
    await b.set('k', 'v1')
    vi.advanceTimersByTime(TTL)
    await shared.remove('k', undefined)
    expect(await b.get('k', { allowStale: true })).toBe('v1') // the local copy, before the gap
    const gap = nextEvent(b, 'backplane', (e) => e.type === 'gap')
    transport.state.listener?.onGap({ reason: 'reconnect', recovered: false })
    expect(await gap).toMatchObject({ action: 'cleared' })
    expect(await b.get('k', { allowStale: true })).toBeUndefined()
  })
})

describe('grace in the stored forms', () => {
  it('the envelope keeps grace (format 2) and leaves items without grace byte for byte format 1', () => {
    const base = {
      value: new Uint8Array([1, 2]),
      mode: 'absolute' as const,
      ttl: 5,
      expiresAt: 10,
      created: 5,
      version: 1,
    }
    expect(encodeEnvelope(base)[2]).toBe(1)
    const graced = encodeEnvelope({ ...base, grace: 7 })
    expect(graced[2]).toBe(2)
    expect(decodeEnvelope(graced)).toMatchObject({ grace: 7, version: 1, expiresAt: 10 })
    expect(Array.from(decodeEnvelope(graced).value)).toEqual([1, 2])
    expect(decodeEnvelope(encodeEnvelope(base))).not.toHaveProperty('grace')
    expect(() => encodeEnvelope({ ...base, grace: -1 })).toThrow(errors.E_INVALID_VALUE)
    expect(() => decodeEnvelope(graced.subarray(0, 40))).toThrow(errors.E_ITEM_CORRUPT)
  })

  it('fitItem clamps the physical lifetime to maxTtlMs and drops grace where a handle cannot keep it', () => {
    const now = 1_000
    const caps = {
      distributed: true,
      bytes: true,
      cas: true,
      sliding: true,
      maxTtlMs: 5_000,
      ttlGranularityMs: 1_000,
      clearRegion: 'scan' as const,
      synchronous: false,
    }
    const item = newItem('v', { mode: 'absolute', ttl: 2_000 }, now, 10_000)
    expect(fitItem(item, lifetimeLimits({ ...caps, grace: true }, undefined), now)).toMatchObject({
      expiresAt: now + 2_000,
      grace: 3_000,
    })
    expect(fitItem(item, lifetimeLimits(caps, undefined), now)).toMatchObject({ grace: 0 })
  })

  it('the memory handle returns a graced entry until expiry + grace and add does not replace it', () => {
    const h = memoryHandle({ name: 'm' }) as CacheHandle<unknown>
    const now = Date.now()
    h.set('k', undefined, {
      value: 1,
      mode: 'absolute',
      ttl: 10,
      expiresAt: now + 10,
      created: now,
      grace: 20,
    })
    vi.advanceTimersByTime(29)
    expect(h.get('k', undefined)).toMatchObject({ value: 1, grace: 20 })
    expect(h.add('k', undefined, { value: 2, mode: 'none', ttl: 0, expiresAt: 0, created: now })).toBe(false)
    vi.advanceTimersByTime(1)
    expect(h.get('k', undefined)).toBeUndefined()
  })
})
