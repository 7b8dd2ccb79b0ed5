/**
 * Concurrency across processes: CAS increments are never lost, and processes racing getOrAdd on one
 * key all end up with one and the same value.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { describe, expect, it } from 'vitest'
import { WorkerPool } from '../src/harness.js'
import { distributedTopologies } from '../src/topologies.js'
import { slowSystem } from '../src/slow-system.js'

const pool = new WorkerPool()

describe.each(distributedTopologies())('$label', (topology) => {
  it('4 processes x 500 update increments on one key end at exactly 2,000', async () => {
    const workers = await pool.spawnMany(4, { cacheName: randomKey('race'), topology })
    const key = randomKey('counter')
    await workers[0]?.call({ op: 'set', key, value: { v: 0, by: 'start' } })
    const finals = await Promise.all(workers.map((w) => w.call({ op: 'bumpLoop', key, count: 500 }, 180_000)))
    // Each process's last update saw every earlier one of its own: at most the total.
    expect(Math.max(...finals.map((value) => value.v))).toBe(2_000)
    await waitFor(
      async () => {
        const reads = await Promise.all(workers.map((w) => w.call({ op: 'get', key })))
        return reads.every((read) => read?.value.v === 2_000)
      },
      { ...slowSystem, message: 'every process to read 2,000' },
    )
  })

  it('4 processes racing getOrAdd on one key all return one and the same value', async () => {
    const workers = await pool.spawnMany(4, { cacheName: randomKey('goa'), topology })
    const key = randomKey('k')
    // The factory is slow, so every process is inside it when the others call.
    const results = await Promise.all(
      workers.map((w, i) =>
        w.call({ op: 'getOrAdd', key, value: { v: i + 1, by: w.name }, factoryDelayMs: 100 }),
      ),
    )
    const first = results[0]
    expect(first).toBeDefined()
    for (const result of results) expect(result).toEqual(first)
    const reads = await Promise.all(workers.map((w) => w.call({ op: 'get', key })))
    for (const read of reads) expect(read?.value).toEqual(first)
  })
})
