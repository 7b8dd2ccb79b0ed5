/**
 * Fail-safe reads across processes and real servers (issue 12): grace keeps the last value
 * answering when Redis is killed or the factory throws, a soft timeout serves it while the
 * factory's late result lands and propagates, eager refresh calls the factory once for 100
 * concurrent hits, a factory raced by a remove elsewhere is not cached, and a removed value
 * is never served by anyone, even with `allowStale`.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { type RunningServer, startRedis, startTcpProxy, type TcpProxy } from '@cacheplane/test-servers'
import { addressOf } from '../src/addresses.js'
import { describe, expect, inject, it } from 'vitest'
import { expectRemote, marks } from '../src/expect-events.js'
import { type Worker, WorkerPool } from '../src/harness.js'
import { slowSystem } from '../src/slow-system.js'
import type { LoadOptionsSpec } from '../src/worker/protocol.js'
import type { Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()
const TTL = 400
const GRACE = 120_000

function redisTopology(storeUrl = inject('redisUrl')): Topology {
  return {
    label: 'redis',
    store: { kind: 'redis', url: storeUrl },
    backplane: { kind: 'redis', url: inject('redisUrl') },
  }
}

async function two(topology: Topology): Promise<[Worker, Worker]> {
  const [a, b] = await pool.spawnMany(2, {
    cacheName: randomKey('failsafe'),
    topology,
    circuitBreaker: { failureThreshold: 2, resetAfterMs: 300 },
  })
  if (a === undefined || b === undefined) throw new Error('workers')
  return [a, b]
}

const graced = (extra: LoadOptionsSpec = {}): LoadOptionsSpec => ({
  expiration: { mode: 'absolute', ttl: TTL },
  grace: GRACE,
  ...extra,
})

/** `a` loads v1 into the store and `b` holds a copy; then both wait until it is past its expiry (graced only). */
async function staleEverywhere(a: Worker, b: Worker, key: string): Promise<void> {
  const from = marks([b])
  expect((await a.call({ op: 'load', key, value: { v: 1, by: 'a' }, options: graced() })).values).toEqual([
    { v: 1, by: 'a' },
  ])
  await expectRemote([b], from, 'add', { key })
  expect((await b.call({ op: 'get', key }))?.level).toBe(1) // copied into b's memory
  await waitFor(async () => (await b.call({ op: 'get', key })) === null, {
    ...slowSystem,
    message: 'the item to expire logically',
  })
  expect(await b.call({ op: 'get', key, allowStale: true })).toMatchObject({ value: { v: 1 }, stale: true })
}

describe('memory + Redis + Redis backplane', () => {
  it('Redis killed: getOrAdd answers the graced value within softTimeoutMs, fresh values after Redis is back', async () => {
    let own: RunningServer | undefined
    try {
      own = await startRedis()
      const [a, b] = await two(redisTopology(own.url))
      const key = randomKey('killed')
      await staleEverywhere(a, b, key)
      await own.kill()
      const soft = 150
      const options = graced({ softTimeoutMs: soft, failSafeThrottleMs: 500 })
      const answer = await b.call({ op: 'load', key, value: { v: 2, by: 'b' }, options }, 10_000)
      expect(answer.values).toEqual([{ v: 1, by: 'a' }])
      console.info(
        `fail-safe, Redis killed: graced answer in ${answer.elapsedMs.toFixed(1)} ms (soft ${soft} ms)`,
      )
      // "softTimeoutMs plus a few ms": the margin is for a loaded 2-core machine, not for the cache.
      expect(answer.elapsedMs).toBeLessThan(soft + 100)
      await own.restart()
      await waitFor(
        async () => {
          const fresh = await b.call({ op: 'load', key, value: { v: 3, by: 'b' }, options }, 10_000)
          return fresh.values[0]?.v === 3
        },
        { ...slowSystem, timeoutMs: 30_000, intervalMs: 100, message: 'a fresh value once Redis is back' },
      )
    } finally {
      await own?.stop()
    }
  })

  it('Redis stalled (no reply at all): the graced value within softTimeoutMs plus a few ms', async () => {
    let proxy: TcpProxy | undefined
    try {
      proxy = await startTcpProxy(addressOf(inject('redisUrl')))
      const [a, b] = await two(redisTopology(`redis://${proxy.host}:${proxy.port}`))
      const key = randomKey('stalled')
      await staleEverywhere(a, b, key)
      proxy.stall()
      const soft = 150
      const options = graced({ softTimeoutMs: soft })
      const answer = await b.call({ op: 'load', key, value: { v: 2, by: 'b' }, options }, 10_000)
      expect(answer.values).toEqual([{ v: 1, by: 'a' }])
      console.info(
        `fail-safe, Redis stalled: graced answer in ${answer.elapsedMs.toFixed(1)} ms (soft ${soft} ms)`,
      )
      expect(answer.elapsedMs).toBeGreaterThanOrEqual(soft - 1)
      expect(answer.elapsedMs).toBeLessThan(soft + 100)
      await b.waitEvent((e) => e.name === 'failSafe' && e.detail === 'soft-timeout', {
        what: 'a soft-timeout fail-safe',
      })
      proxy.heal()
    } finally {
      await proxy?.close()
    }
  })

  it('a throwing factory: the graced value, and at most one factory call per throttle window over 1,000 calls', async () => {
    const [a, b] = await two(redisTopology())
    const key = randomKey('throws')
    await staleEverywhere(a, b, key)
    for (const worker of [a, b]) {
      const before = await worker.call({ op: 'factoryCalls', key })
      const result = await worker.call(
        {
          op: 'load',
          key,
          value: { v: 9, by: 'x' },
          factory: 'throw',
          calls: 1_000,
          options: graced({ failSafeThrottleMs: 60_000 }),
        },
        60_000,
      )
      expect(result.errors).toEqual([])
      expect(new Set(result.values.map((v) => v?.v))).toEqual(new Set([1]))
      expect((await worker.call({ op: 'factoryCalls', key })) - before).toBe(1)
    }
    expect(b.find((e) => e.name === 'failSafe' && e.detail === 'factory-failed')).toHaveLength(1)
  })

  it('soft timeout: the caller gets the graced value; the other process reads the late result once it lands', async () => {
    const [a, b] = await two(redisTopology())
    const key = randomKey('soft')
    await staleEverywhere(a, b, key)
    const from = marks([b])
    const options = graced({ softTimeoutMs: 100 })
    const answer = await a.call({ op: 'load', key, value: { v: 2, by: 'a' }, factoryDelayMs: 1_000, options })
    expect(answer.values).toEqual([{ v: 1, by: 'a' }])
    expect(answer.elapsedMs).toBeLessThan(1_000)
    await a.waitEvent((e) => e.name === 'factoryTimeout' && e.detail === 'soft', { what: 'a soft timeout' })
    await expectRemote([b], from, 'set', { key })
    expect(await b.call({ op: 'get', key })).toMatchObject({ value: { v: 2, by: 'a' } })
  })

  it('eager refresh: 100 concurrent hits past the threshold cause exactly one factory call', async () => {
    const [a, b] = await two(redisTopology())
    const key = randomKey('eager')
    const options: LoadOptionsSpec = {
      expiration: { mode: 'absolute', ttl: 2_000 },
      grace: GRACE,
      eagerRefresh: 0.5,
    }
    await a.call({ op: 'load', key, value: { v: 1, by: 'a' }, options })
    const item = await a.call({ op: 'get', key })
    if (item === null) throw new Error('a lost its item')
    await waitFor(async () => Date.now() >= item.expiresAt - 900, {
      ...slowSystem,
      message: 'the item to pass half of its lifetime',
    })
    const from = marks([a, b])
    const hits = await a.call({
      op: 'load',
      key,
      value: { v: 2, by: 'a' },
      factoryDelayMs: 200,
      calls: 100,
      concurrent: true,
      options,
    })
    expect(new Set(hits.values.map((v) => v?.v))).toEqual(new Set([1]))
    await a.waitEvent((e) => e.name === 'eagerRefresh' && e.detail === 'written', {
      from: from[0],
      what: 'the refresh written',
    })
    expect(await a.call({ op: 'factoryCalls', key })).toBe(2) // the first load, then one refresh
    await expectRemote([b], [from[1] ?? 0], 'set', { key })
    expect(await b.call({ op: 'get', key })).toMatchObject({ value: { v: 2 } })
  })

  it('a remove on another process while the factory runs: the callers get its result, no process caches it', async () => {
    const [a, b] = await two(redisTopology())
    const key = randomKey('raced')
    const from = marks([a, b])
    const options: LoadOptionsSpec = { expiration: { mode: 'absolute', ttl: 60_000 } }
    // The factory read its source; the application then changes the source and removes the key.
    const loading = a.call({ op: 'load', key, value: { v: 1, by: 'a' }, factoryDelayMs: 400, options })
    await a.waitEvent((e) => e.name === 'factory' && e.key === key, {
      from: from[0],
      what: 'the factory called',
    })
    await b.call({ op: 'remove', key })
    await expectRemote([a], [from[0] ?? 0], 'remove', { key })
    expect((await loading).values).toEqual([{ v: 1, by: 'a' }])
    expect(await a.call({ op: 'get', key })).toBeNull()
    expect(await b.call({ op: 'get', key })).toBeNull()
  })

  it('after remove on one process, no process returns the removed value, even with allowStale', async () => {
    const [a, b] = await two(redisTopology())
    const key = randomKey('removed')
    await staleEverywhere(a, b, key)
    const from = marks([b])
    await a.call({ op: 'remove', key })
    await expectRemote([b], from, 'remove', { key })
    for (const worker of [a, b]) {
      expect(await worker.call({ op: 'get', key, allowStale: true })).toBeNull()
      const failed = await worker.call({
        op: 'load',
        key,
        value: { v: 5, by: 'x' },
        factory: 'throw',
        options: graced(),
      })
      expect(failed).toMatchObject({ values: [null], errors: ['FactoryError'] })
    }
  })
})
