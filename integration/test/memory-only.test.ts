/**
 * Memory only, kept in sync by a backplane: there is no shared store, so a change on one process
 * must evict the other processes' own copies (their next read misses).
 */
import { randomKey } from '@cacheplane/core/testing'
import { describe, expect, it } from 'vitest'
import { expectRemote, marks } from '../src/expect-events.js'
import { type Worker, WorkerPool } from '../src/harness.js'
import { memoryOnlyTopologies } from '../src/topologies.js'

const pool = new WorkerPool()

describe.each(memoryOnlyTopologies())('$label', (topology) => {
  it('a change on one process evicts the copies of the others', async () => {
    const [a, b, c] = await pool.spawnMany(3, { cacheName: randomKey('mem'), topology })
    if (a === undefined || b === undefined || c === undefined) throw new Error('three workers expected')
    const others = [b, c]
    // Any write is announced, so two processes cannot both hold one key: each holds its own key.
    const base = randomKey('k')
    const keyOf = (w: Worker) => `${base}-${w.name}`
    const region = 'eu'
    const fill = async (r?: string) => {
      for (const [i, w] of others.entries()) {
        const before = marks([a])
        await w.call({ op: 'set', key: keyOf(w), region: r, value: { v: 10 + i, by: w.name } })
        // The set evicts a's copy of that key; wait so it cannot race a's next change.
        await expectRemote([a], before, 'set', { key: keyOf(w), region: r })
      }
      expect(await copies(r)).toEqual([10, 11])
    }
    const copies = (r?: string) =>
      Promise.all(
        others.map(async (w) => (await w.call({ op: 'get', key: keyOf(w), region: r }))?.value.v ?? null),
      )
    const onEach = async (op: (w: Worker) => Promise<unknown>, name: string, r?: string) => {
      const from = marks(others)
      for (const w of others) await op(w)
      await Promise.all(
        others.map((w, i) => expectRemote([w], [from[i] ?? 0], name, { key: keyOf(w), region: r })),
      )
      expect(await copies(r)).toEqual([null, null])
    }

    await fill()
    await onEach((w) => a.call({ op: 'set', key: keyOf(w), value: { v: 1, by: 'a' } }), 'set')
    expect((await a.call({ op: 'get', key: keyOf(b) }))?.value.v).toBe(1)

    await fill()
    // a holds none of these keys any more (the others' sets evicted them): add succeeds there.
    await onEach(
      async (w) => expect(await a.call({ op: 'add', key: keyOf(w), value: { v: 2, by: 'a' } })).toBe(true),
      'add',
    )

    await fill(region)
    await onEach((w) => a.call({ op: 'remove', key: keyOf(w), region }), 'remove', region)

    await fill(region)
    let from = marks(others)
    await a.call({ op: 'clearRegion', region })
    await expectRemote(others, from, 'clearRegion', { region })
    expect(await copies(region)).toEqual([null, null])

    await fill()
    from = marks(others)
    await a.call({ op: 'clear' })
    await expectRemote(others, from, 'clear')
    expect(await copies()).toEqual([null, null])
  })
})
