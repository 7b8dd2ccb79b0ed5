import { describe, expect, it } from 'vitest'
import { type CounterStore, Generations } from '../src/generations.js'

/** An in-memory counter store whose answers the test releases one by one. */
function controlledStore() {
  const counters = new Map<string, number>()
  const waiting: Array<() => void> = []
  let reads = 0
  const store: CounterStore = {
    increment(key, delta, initial) {
      reads += 1
      // The server acts now; the answer reaches the caller when the test releases it.
      const value = counters.has(key) ? counters.get(key)! + delta : initial
      counters.set(key, value)
      return new Promise((resolve) => waiting.push(() => resolve(value)))
    },
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

describe('Generations', () => {
  it('reads a counter once per refresh interval and shares a read in flight', async () => {
    const fake = controlledStore()
    const generations = new Generations(fake.store, 'gen', regionKey, 60_000)
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
    const generations = new Generations(fake.store, 'gen', regionKey, 60_000)
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
    const generations = new Generations(fake.store, 'gen', regionKey, 60_000)
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
    const generations = new Generations(fake.store, 'gen', regionKey, 60_000, (r) => reports.push(r))
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
    const generations = new Generations(fake.store, 'gen', regionKey, 60_000)
    // The read reached the server first (5), the bump second (6); the bump's answer arrives first.
    const read = generations.region('eu')
    const bump = generations.bumpRegion('eu')
    fake.releaseNewestFirst()
    await Promise.all([read, bump])
    expect(await generations.region('eu')).toBe(6)
  })

  it('re-reads on the next use when a read failed', async () => {
    let fail = true
    const store: CounterStore = {
      increment: async () => {
        if (fail) throw new Error('server down')
        return 7
      },
    }
    const generations = new Generations(store, 'gen', regionKey, 60_000)
    await expect(generations.cache()).rejects.toThrow('server down')
    fail = false
    expect(await generations.cache()).toBe(7)
  })
})
