/**
 * The Keyv bridges across processes. PostgreSQL as the shared layer through `@keyv/postgres` and
 * `keyvHandle`, under each process's memory layer, with a Redis or NATS backplane: every change on
 * one process evicts the others' memory copies, and clears reach them through the generation
 * tokens. Then cache-manager 7 on top (`keyvStore(manager)`): what one process writes through
 * cache-manager, the other reads through cache-manager once the change propagated.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { describe, expect, it } from 'vitest'
import { expectRemote, marks } from '../src/expect-events.js'
import { type Worker, WorkerCommandError, WorkerPool } from '../src/harness.js'
import { keyvPostgresTopologies } from '../src/topologies.js'
import { slowSystem } from '../src/slow-system.js'
import type { CacheManagerCall } from '../src/worker/cache-manager-calls.js'
import type { Value } from '../src/worker/protocol.js'

const pool = new WorkerPool()

function three(workers: Worker[]): [Worker, Worker, Worker] {
  const [a, b, c] = workers
  if (a === undefined || b === undefined || c === undefined) throw new Error('three workers expected')
  return [a, b, c]
}

describe.each(keyvPostgresTopologies())('$label', (topology) => {
  it('writes, removes and clears on one process reach the memory layers of the others', async () => {
    const [a, b, c] = three(await pool.spawnMany(3, { cacheName: randomKey('keyv'), topology }))
    const others = [b, c]
    const key = randomKey('k')
    const read = (region?: string) => Promise.all(others.map((w) => w.call({ op: 'get', key, region })))
    const values = async (region?: string) => (await read(region)).map((r) => r?.value.v ?? null)

    let from = marks(others)
    await a.call({ op: 'set', key, value: { v: 1, by: 'a' } })
    // Read once the first set's invalidation arrived, or it would evict the copies read before it.
    await expectRemote(others, from, 'set', { key })
    expect((await read()).map((r) => [r?.value.v, r?.level])).toEqual([
      [1, 1],
      [1, 1],
    ])
    // Now in their memory layers: only an invalidation over the backplane can replace it.
    expect((await read()).map((r) => r?.level)).toEqual([0, 0])
    from = marks(others)
    await a.call({ op: 'set', key, value: { v: 2, by: 'a' } })
    await expectRemote(others, from, 'set', { key })
    expect(await values()).toEqual([2, 2])

    from = marks(others)
    expect(await a.call({ op: 'remove', key })).toBe(true)
    await expectRemote(others, from, 'remove', { key })
    expect(await values()).toEqual([null, null])
    from = marks(others)
    expect(await a.call({ op: 'add', key, value: { v: 3, by: 'a' } })).toBe(true)
    await expectRemote(others, from, 'add', { key })
    expect(await values()).toEqual([3, 3])

    // A region clear is a new generation token in PostgreSQL; the others re-read it when told.
    await a.call({ op: 'set', key, region: 'eu', value: { v: 4, by: 'a' } })
    expect(await values('eu')).toEqual([4, 4])
    from = marks(others)
    await a.call({ op: 'clearRegion', region: 'eu' })
    await expectRemote(others, from, 'clearRegion', { region: 'eu' })
    expect(await values('eu')).toEqual([null, null])
    expect(await values()).toEqual([3, 3])

    from = marks(others)
    await a.call({ op: 'clear' })
    await expectRemote(others, from, 'clear')
    expect(await values()).toEqual([null, null])
    // Written after the clear by another process: visible to all under the new token.
    await b.call({ op: 'set', key, value: { v: 5, by: 'b' } })
    expect((await a.call({ op: 'get', key }))?.value.v).toBe(5)
  })

  it('update is refused: a Keyv store has no compare-and-set', async () => {
    const [a] = await pool.spawnMany(1, { cacheName: randomKey('keyv'), topology })
    const key = randomKey('k')
    await a?.call({ op: 'set', key, value: { v: 1, by: 'a' } })
    const refused = await a?.call({ op: 'bump', key }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(WorkerCommandError)
    expect((refused as WorkerCommandError).errorName).toBe('NotSupportedError')
  })
})

describe('cache-manager 7 over keyvStore, two processes (memory + PostgreSQL + Redis backplane)', () => {
  const topology = keyvPostgresTopologies()[0]
  if (topology === undefined) throw new Error('the Redis-backplane topology is missing')
  const cm = (worker: Worker, call: CacheManagerCall) => worker.call({ op: 'cacheManager', call })
  const value = async (worker: Worker, key: string) =>
    ((await cm(worker, { fn: 'get', key })) as Value | null)?.v ?? null

  it('a set through cache-manager on one process is read through cache-manager on the other; del and clear too', async () => {
    const [a, b] = await pool.spawnMany(2, { cacheName: randomKey('cm'), topology })
    if (a === undefined || b === undefined) throw new Error('two workers expected')
    const key = randomKey('k')
    expect(await value(b, key)).toBeNull()
    await cm(a, { fn: 'set', key, value: { v: 1, by: 'a' } })
    expect(await value(b, key)).toBe(1)
    // b has it in memory now; a's next set must reach b through the backplane.
    await cm(a, { fn: 'set', key, value: { v: 2, by: 'a' } })
    await waitFor(async () => (await value(b, key)) === 2, {
      ...slowSystem,
      message: "b reading a's second set",
    })
    expect(await cm(b, { fn: 'del', key })).toBe(true)
    await waitFor(async () => (await value(a, key)) === null, {
      ...slowSystem,
      message: "a missing after b's del",
    })

    await cm(a, { fn: 'set', key, value: { v: 3, by: 'a' } })
    expect(await value(b, key)).toBe(3)
    await cm(b, { fn: 'clear' })
    await waitFor(async () => (await value(a, key)) === null, {
      ...slowSystem,
      message: "a missing after b's clear",
    })
  })

  it('TTLs expire on both processes, and wrap runs its function once across them', async () => {
    const [a, b] = await pool.spawnMany(2, { cacheName: randomKey('cm'), topology })
    if (a === undefined || b === undefined) throw new Error('two workers expected')
    const key = randomKey('k')
    const before = Date.now()
    await cm(a, { fn: 'set', key, value: { v: 1, by: 'a' }, ttl: 1_000 })
    expect(await value(b, key)).toBe(1)
    const expires = (await cm(b, { fn: 'ttl', key })) as number
    expect(expires).toBeGreaterThanOrEqual(before + 1_000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 1_000)
    await waitFor(async () => (await value(a, key)) === null && (await value(b, key)) === null, {
      ...slowSystem,
      message: 'expiry',
    })

    const wrapped = randomKey('w')
    const wrap = (worker: Worker, v: number) =>
      cm(worker, { fn: 'wrap', key: wrapped, value: { v, by: worker.name }, ttl: 1_000 }) as Promise<{
        value: Value
        ran: boolean
      }>
    expect(await wrap(a, 1)).toEqual({ value: { v: 1, by: a.name }, ran: true })
    expect(await wrap(b, 2)).toEqual({ value: { v: 1, by: a.name }, ran: false })
    await waitFor(async () => (await value(b, wrapped)) === null, {
      ...slowSystem,
      message: 'the wrapped value to expire',
    })
    expect(await wrap(b, 3)).toEqual({ value: { v: 3, by: b.name }, ran: true })
  })
})
