/**
 * Each operation on one process is seen by the others: a `remote` event arrives and their next read
 * returns the new state (their memory copies were evicted), with and without regions, on every
 * topology with a distributed layer.
 */
import { randomKey } from '@cacheplane/core/testing'
import { describe, expect, it } from 'vitest'
import { expectRemote, marks } from '../src/expect-events.js'
import { WorkerPool } from '../src/harness.js'
import { distributedTopologies } from '../src/topologies.js'

const pool = new WorkerPool()

describe.each(distributedTopologies())('$label', (topology) => {
  it.each([
    { title: 'without a region', region: undefined },
    { title: 'with a region', region: 'eu' },
  ])('every operation propagates to the other processes ($title)', async ({ region }) => {
    const [a, b, c] = await pool.spawnMany(3, { cacheName: randomKey('prop'), topology })
    if (a === undefined || b === undefined || c === undefined) throw new Error('three workers expected')
    const others = [b, c]
    const key = randomKey('k')
    const readAll = () => Promise.all(others.map((w) => w.call({ op: 'get', key, region })))
    const values = async () => (await readAll()).map((read) => read?.value.v ?? null)

    // add: the others missed before, and now read the added value.
    expect(await values()).toEqual([null, null])
    let from = marks(others)
    expect(await a.call({ op: 'add', key, region, value: { v: 1, by: 'a' } })).toBe(true)
    await expectRemote(others, from, 'add', { key, region })
    expect(await values()).toEqual([1, 1])
    // Now in their memory layer: the next steps prove remote changes evict it.
    expect((await readAll()).map((read) => read?.level)).toEqual([0, 0])

    from = marks(others)
    await a.call({ op: 'set', key, region, value: { v: 2, by: 'a' } })
    await expectRemote(others, from, 'set', { key, region })
    expect(await values()).toEqual([2, 2])

    from = marks(others)
    expect((await a.call({ op: 'bump', key, region })).v).toBe(3)
    await expectRemote(others, from, 'update', { key, region })
    expect(await values()).toEqual([3, 3])

    from = marks(others)
    expect(await a.call({ op: 'expire', key, region, expiration: { mode: 'absolute', ttl: 1_500 } })).toBe(
      true,
    )
    await expectRemote(others, from, 'expire', { key, region })
    for (const read of await readAll()) {
      expect(read?.mode).toBe('absolute')
      expect(read?.expiresAt).toBeGreaterThan(Date.now() - 1_000)
    }
    await waitValues(values, [null, null], 'the expired item to be gone everywhere')

    await a.call({ op: 'set', key, region, value: { v: 5, by: 'a' } })
    await waitValues(values, [5, 5], 'the value set after expiry')
    from = marks(others)
    expect(await a.call({ op: 'remove', key, region })).toBe(true)
    await expectRemote(others, from, 'remove', { key, region })
    expect(await values()).toEqual([null, null])

    // clearRegion: only the cleared region goes; other regions and the region-less key stay.
    const cleared = randomKey('r')
    const kept = randomKey('r')
    const inCleared = { op: 'get', key, region: cleared } as const
    const inKept = { op: 'get', key, region: kept } as const
    await a.call({ op: 'set', key, region: cleared, value: { v: 6, by: 'a' } })
    await a.call({ op: 'set', key, region: kept, value: { v: 7, by: 'a' } })
    await a.call({ op: 'set', key, region, value: { v: 8, by: 'a' } })
    for (const w of others) {
      expect((await w.call(inCleared))?.value.v).toBe(6)
      expect((await w.call(inKept))?.value.v).toBe(7)
    }
    from = marks(others)
    await a.call({ op: 'clearRegion', region: cleared })
    await expectRemote(others, from, 'clearRegion', { region: cleared })
    for (const w of others) {
      expect(await w.call(inCleared)).toBeNull()
      expect((await w.call(inKept))?.value.v).toBe(7)
    }
    expect(await values()).toEqual(region === cleared ? [null, null] : [8, 8])

    from = marks(others)
    await a.call({ op: 'clear' })
    await expectRemote(others, from, 'clear')
    expect(await values()).toEqual([null, null])
    for (const w of others) expect(await w.call(inKept)).toBeNull()
  })
})

async function waitValues(read: () => Promise<(number | null)[]>, expected: (number | null)[], what: string) {
  const deadline = Date.now() + 10_000
  let last: (number | null)[] = []
  while (Date.now() < deadline) {
    last = await read()
    if (JSON.stringify(last) === JSON.stringify(expected)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(
    `waited 10 s for ${what}: expected ${JSON.stringify(expected)}, last read ${JSON.stringify(last)}`,
  )
}
