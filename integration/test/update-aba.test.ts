/**
 * Issue 17 across processes, on every topology with a distributed store: one process runs slow
 * updates while another removes the key and adds it again. No update may apply to an item it
 * did not read. Before versions were unique per write, a re-added item started at version 1
 * again, and an update prepared against the removed item overwrote the new one (the add lost).
 *
 * Values carry their generation in `by`: the re-adding process names a new one with each add,
 * and an update keeps the generation it read (see src/worker/update-race.ts).
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { describe, expect, it } from 'vitest'
import { WorkerPool } from '../src/harness.js'
import { distributedTopologies } from '../src/topologies.js'
import { slowSystem } from '../src/slow-system.js'

const pool = new WorkerPool()

describe.each(distributedTopologies())('$label', (topology) => {
  it('an update held while the other process removes and re-adds the key retries on the new item (105)', async () => {
    const [a, b] = await pool.spawnMany(2, { cacheName: randomKey('aba'), topology })
    if (a === undefined || b === undefined) throw new Error('two workers expected')
    for (let round = 0; round < 3; round++) {
      const key = randomKey('k')
      await a.call({ op: 'set', key, value: { v: 1, by: 'old' } })
      const from = a.events.length
      const gate = `gate-${round}`
      const pending = a.call({ op: 'heldUpdate', key, add: 100, gate })
      await a.waitEvent((e) => e.name === 'updateRead' && e.key === key, { from, what: 'the update to read' })
      expect(await b.call({ op: 'remove', key })).toBe(true)
      expect(await b.call({ op: 'add', key, value: { v: 5, by: 'new' } })).toBe(true)
      expect(await a.call({ op: 'release', gate })).toBe(true)
      expect(await pending).toEqual({ v: 105, by: 'new' })
      await waitFor(
        async () => {
          const reads = await Promise.all([a, b].map((w) => w.call({ op: 'get', key })))
          return reads.every((read) => read?.value.v === 105 && read.value.by === 'new')
        },
        { ...slowSystem, message: 'both processes to read 105 of the new item' },
      )
    }
  })

  it('slow updates in one process, remove + re-add in the other: no update applies to an item it did not read', async () => {
    const [a, b] = await pool.spawnMany(2, { cacheName: randomKey('aba'), topology })
    if (a === undefined || b === undefined) throw new Error('two workers expected')
    const key = randomKey('k')
    await b.call({ op: 'add', key, value: { v: 0, by: `${b.name}-g0` } })
    const [updates, reAdds] = await Promise.all([
      a.call({ op: 'slowUpdateLoop', key, durationMs: 3_000, delayMs: 15 }, 60_000),
      b.call({ op: 'reAddLoop', key, durationMs: 3_000, pauseMs: 50 }, 60_000),
    ])
    expect(updates.length).toBeGreaterThan(10)
    expect(reAdds.length).toBeGreaterThan(10)
    // An update whose function returned after the next generation was added cannot commit on
    // the generation it read: that one was removed before the next was added.
    const addedAt = new Map(reAdds)
    const next = (by: string) => by.replace(/\d+$/, (n) => String(Number(n) + 1))
    const misapplied = updates.filter(
      ([by, , returnedAt]) => (addedAt.get(next(by)) ?? Infinity) < returnedAt,
    )
    expect(misapplied).toEqual([])
    // Every update after the last re-add read that generation: it is the one left.
    const last = reAdds.at(-1)?.[0]
    await waitFor(
      async () => {
        const reads = await Promise.all([a, b].map((w) => w.call({ op: 'get', key })))
        return reads.every((read) => read?.value.by === last)
      },
      { ...slowSystem, message: `both processes to read generation ${last}` },
    )
  })
})
