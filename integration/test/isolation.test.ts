/**
 * Two caches with different names on the same servers stay independent: their data, their clears
 * and their backplane frames (a process of one cache never receives the other's messages).
 */
import { randomKey } from '@cacheplane/core/testing'
import { describe, expect, it } from 'vitest'
import { expectRemote, marks } from '../src/expect-events.js'
import { type Worker, WorkerPool } from '../src/harness.js'
import { distributedTopologies } from '../src/topologies.js'

const pool = new WorkerPool()

interface BackplaneCounters {
  messagesReceived: number
  framesReceived: number
}

async function received(worker: Worker): Promise<BackplaneCounters> {
  const stats = (await worker.call({ op: 'stats' })) as { backplane: BackplaneCounters }
  return stats.backplane
}

describe.each(distributedTopologies())('$label', (topology) => {
  it('two cache names share nothing: data, clears and frames', async () => {
    const two = randomKey('two')
    const [[a1, b1], [a2, b2]] = await Promise.all([
      pool.spawnMany(2, { cacheName: randomKey('one'), topology }, 'one-'),
      pool.spawnMany(2, { cacheName: two, topology }, 'two-'),
    ])
    if (a1 === undefined || b1 === undefined || a2 === undefined || b2 === undefined)
      throw new Error('workers')
    const key = randomKey('k')
    const region = 'r'
    const v = async (w: Worker, r?: string) => (await w.call({ op: 'get', key, region: r }))?.value.v ?? null

    // Same key in both caches, different values; with and without a region.
    let from = marks([b1, b2])
    await a1.call({ op: 'set', key, value: { v: 1, by: 'one' } })
    await a2.call({ op: 'set', key, value: { v: 100, by: 'two' } })
    await expectRemote([b1, b2], from, 'set', { key })
    from = marks([b1, b2])
    await a1.call({ op: 'set', key, region, value: { v: 2, by: 'one' } })
    await a2.call({ op: 'set', key, region, value: { v: 200, by: 'two' } })
    await expectRemote([b1, b2], from, 'set', { key, region })
    expect([await v(b1), await v(b2), await v(b1, region), await v(b2, region)]).toEqual([1, 100, 2, 200])

    // Frames: while cache one writes, cache two's process receives only cache two's message.
    const before = await received(b2)
    from = marks([b1])
    await a1.call({ op: 'set', key, value: { v: 3, by: 'one' } })
    await a1.call({ op: 'remove', key, region })
    await expectRemote([b1], from, 'remove', { key, region })
    from = marks([b2])
    const marker = randomKey('marker')
    await a2.call({ op: 'set', key: marker, value: { v: 1, by: 'two' } })
    await expectRemote([b2], from, 'set', { key: marker })
    const after = await received(b2)
    expect(after.messagesReceived - before.messagesReceived).toBe(1)
    expect(after.framesReceived - before.framesReceived).toBe(1)
    expect(b2.find((e) => e.origin === 'remote' && e.key === key).map((e) => e.name)).toEqual(['set', 'set'])
    // b2's copies were never evicted by cache one's changes: still answered from memory.
    expect(await b2.call({ op: 'get', key })).toMatchObject({ value: { v: 100 }, level: 0 })
    expect(await b2.call({ op: 'get', key, region })).toMatchObject({ value: { v: 200 }, level: 0 })

    // Clears of cache one leave cache two's data (in the store too: a fresh process reads it).
    from = marks([b1])
    await a1.call({ op: 'clearRegion', region })
    await a1.call({ op: 'clear' })
    await expectRemote([b1], from, 'clear')
    expect([await v(a1), await v(b1), await v(b1, region)]).toEqual([null, null, null])
    const fresh = await pool.spawn({ cacheName: two, topology, workerId: 'fresh' })
    expect([await v(fresh), await v(fresh, region)]).toEqual([100, 200])
    expect(b2.find((e) => e.origin === 'remote' && (e.name === 'clear' || e.name === 'clearRegion'))).toEqual(
      [],
    )
  })
})
