import { describe, expect, it } from 'vitest'
import { type GenerationStore, GenerationCounters } from '../src/generation-counters.js'

/** Counters in memory (an atomic increment, created at `initial`) whose answers the test releases one by one. */
function controlledStore(initial = 1) {
  const counters = new Map<string, number>()
  const waiting: Array<() => void> = []
  let reads = 0
  const increment = (key: string, delta: number): Promise<number> => {
    reads += 1
    // The server acts now; the answer reaches the caller when the test releases it.
    const value = counters.has(key) ? counters.get(key)! + delta : initial
    counters.set(key, value)
    return new Promise((resolve) => waiting.push(() => resolve(value)))
  }
  const store: GenerationStore<number> = {
    read: (key) => increment(key, 0),
    bump: (key) => increment(key, 1),
  }
  return {
    store,
    counters,
    get reads() {
      return reads
    },
    releaseAll() {
      for (const release of waiting.splice(0)) release()
    },
    releaseNewestFirst() {
      for (const release of waiting.splice(0).reverse()) release()
    },
    async settle<T>(promise: Promise<T> | T): Promise<T> {
      // Release answers, letting chained reads start, until nothing is waiting.
      for (let i = 0; i < 10; i++) {
        this.releaseAll()
        await new Promise((resolve) => setImmediate(resolve))
      }
      return promise
    },
  }
}

const regionKey = (region: string) => `gen:${region}`
const newer = (candidate: number, held: number) => candidate > held

function counters(
  store: GenerationStore<number>,
  onUnannounced?: (region: string | undefined) => void,
): GenerationCounters<number> {
  return new GenerationCounters({
    store,
    cacheKey: 'gen',
    regionKey,
    refreshMs: 60_000,
    newer,
    onUnannounced,
  })
}

describe('GenerationCounters (ordered counters)', () => {
  it('reads a counter once per refresh interval and shares a read in flight', async () => {
    const fake = controlledStore()
    const generations = counters(fake.store)
    const first = generations.cache()
    const second = generations.cache()
    fake.releaseAll()
    expect(await first).toBe(await second)
    expect(fake.reads).toBe(1)
    expect(generations.cache()).toBe(await first)
    expect(fake.reads).toBe(1)
  })

  it('re-reads after a remote clear even when a read was already in flight', async () => {
    const fake = controlledStore()
    fake.counters.set('gen', 10)
    const generations = counters(fake.store)
    // A read is in flight and the server answered it (10) before another instance cleared (11).
    const early = generations.cache()
    fake.counters.set('gen', 11)
    const refreshed = generations.refresh(undefined)
    await fake.settle(Promise.all([early, refreshed]))
    expect(await early).toBe(10)
    expect(fake.reads).toBe(2)
    expect(await generations.cache()).toBe(11)
  })

  it('a gap (refresh of everything) does not trust a region read already in flight', async () => {
    const fake = controlledStore()
    fake.counters.set('gen:eu', 5)
    const generations = counters(fake.store)
    await fake.settle(generations.region('eu'))
    // A refresh-interval read is in flight and was answered (5) before the region was cleared (6).
    const early = generations.region('eu')
    fake.counters.set('gen:eu', 6)
    const refreshed = generations.refresh(undefined)
    const next = generations.region('eu')
    await fake.settle(Promise.all([early, refreshed, next]))
    expect(await next).toBe(6)
  })

  it('reports a counter that grew without a refresh, once; a refreshed one never', async () => {
    const fake = controlledStore()
    const reports: Array<string | undefined> = []
    const generations = counters(fake.store, (r) => reports.push(r))
    fake.counters.set('gen', 1)
    fake.counters.set('gen:eu', 1)
    fake.counters.set('gen:us', 1)
    await fake.settle(Promise.all([generations.cache(), generations.region('eu'), generations.region('us')]))
    await fake.settle(generations.sweep())
    expect(reports).toEqual([])
    fake.counters.set('gen:eu', 2)
    fake.counters.set('gen:us', 2)
    await fake.settle(generations.refresh('us'))
    await fake.settle(generations.sweep())
    expect(reports).toEqual(['eu'])
    fake.counters.set('gen', 2)
    await fake.settle(generations.sweep())
    await fake.settle(generations.sweep())
    expect(reports).toEqual(['eu', undefined])
    // Our own clear is not news either.
    await fake.settle(generations.bumpRegion('eu'))
    await fake.settle(generations.sweep())
    expect(reports).toEqual(['eu', undefined])
  })

  it('keeps the larger value when answers arrive out of order', async () => {
    const fake = controlledStore()
    fake.counters.set('gen:eu', 5)
    const generations = counters(fake.store)
    // The read reached the server first (5), the bump second (6); the bump's answer arrives first.
    const read = generations.region('eu')
    const bump = generations.bumpRegion('eu')
    fake.releaseNewestFirst()
    await Promise.all([read, bump])
    expect(await generations.region('eu')).toBe(6)
  })

  it('re-reads on the next use when a read failed', async () => {
    let fail = true
    const read = async () => {
      if (fail) throw new Error('server down')
      return 7
    }
    const store: GenerationStore<number> = { read, bump: read }
    const generations = counters(store)
    await expect(generations.cache()).rejects.toThrow('server down')
    fail = false
    expect(await generations.cache()).toBe(7)
  })
})

/** Tokens in memory (a store without increment: a clear writes a new random token), answers released by the test. */
function tokenStore() {
  const tokens = new Map<string, string>()
  const waiting: Array<() => void> = []
  let next = 0
  const answer = <T>(value: T): Promise<T> => new Promise((resolve) => waiting.push(() => resolve(value)))
  const store: GenerationStore<string> = {
    read: (key) => answer(tokens.get(key) ?? '0'),
    async bump(key) {
      tokens.set(key, `t${++next}`)
      await answer(undefined)
      return undefined
    },
  }
  return {
    store,
    tokens,
    async settle<T>(promise: Promise<T> | T): Promise<T> {
      for (let i = 0; i < 10; i++) {
        for (const release of waiting.splice(0)) release()
        await new Promise((resolve) => setImmediate(resolve))
      }
      return promise
    },
  }
}

describe('GenerationCounters (unordered tokens)', () => {
  const tokens = (store: GenerationStore<string>, onUnannounced?: (region: string | undefined) => void) =>
    new GenerationCounters({ store, cacheKey: 'gen', regionKey, refreshMs: 60_000, onUnannounced })

  it('a clear reads its token back, and a read in flight from before it does not win', async () => {
    const fake = tokenStore()
    const generations = tokens(fake.store)
    expect(await fake.settle(generations.region('eu'))).toBe('0')
    // A re-read is in flight (the store answers '0') when this instance clears the region.
    const refreshing = generations.refresh('eu')
    const bump = generations.bumpRegion('eu')
    await fake.settle(Promise.all([refreshing, bump]))
    expect(generations.region('eu')).toBe('t1')
    expect(fake.tokens.get('gen:eu')).toBe('t1')
  })

  it('reports a token changed without a refresh; a gap refreshes every region without reporting', async () => {
    const fake = tokenStore()
    const reports: Array<string | undefined> = []
    const generations = tokens(fake.store, (region) => reports.push(region))
    await fake.settle(Promise.all([generations.cache(), generations.region('eu')]))
    fake.tokens.set('gen:eu', 'other')
    await fake.settle(generations.sweep())
    expect(reports).toEqual(['eu'])
    fake.tokens.set('gen', 'other')
    fake.tokens.set('gen:eu', 'third')
    await fake.settle(generations.refresh(undefined))
    expect(await fake.settle(generations.region('eu'))).toBe('third')
    expect(generations.cache()).toBe('other')
    expect(reports).toEqual(['eu'])
  })

  it('builds item keys at once while fresh, after a read otherwise', async () => {
    const fake = tokenStore()
    const generations = tokens(fake.store)
    const build = (cache: string, region: string | undefined, r: string | undefined, key: string) =>
      `${cache}.${region ?? '-'}:${r ?? ''}:${key}`
    const pending = generations.itemKey('k', 'eu', build)
    expect(pending).toBeInstanceOf(Promise)
    expect(await fake.settle(pending)).toBe('0.0:eu:k')
    expect(generations.itemKey('k', 'eu', build)).toBe('0.0:eu:k')
    expect(generations.itemKey('k', undefined, build)).toBe('0.-::k')
  })
})
