/**
 * getOrAdd's `distributedLock` (issue 14) across OS processes on real servers: memory + Redis
 * (standalone and Cluster) and memory + Memcached, each with a Redis and a NATS backplane.
 *
 * - 8 processes x 50 concurrent getOrAdd of one cold key: one factory call in the cluster, one
 *   value everywhere, and every waiter woken by the holder's backplane message (the fallback
 *   check is set far beyond the factory's time, so a timer cannot be what woke them);
 * - the holder SIGKILLed in its factory: its lock outlives it for the TTL, then exactly one
 *   other process takes over and runs the factory, and every waiter gets that value;
 * - the store cut (a proxy closing every connection): each process answers through its own
 *   factory and says, with a `distributedLock` event, that it coalesced in-process only.
 *
 * Cost: the first two share 8 workers per topology; the scenarios take about 1.5 s (mostly the
 * 1 s lock TTL), the rest is spawning (18 s for 8 workers at a load average of 32 on 2 cores, a
 * few seconds on an idle CI machine). The store-down runs 3 workers on standalone Redis and
 * Memcached (Cluster: its clients follow the cluster's own node addresses, past any proxy).
 */
import { randomKey } from '@cacheplane/core/testing'
import { startTcpProxy } from '@cacheplane/test-servers'
import { describe, expect, inject, it } from 'vitest'
import { addressOf } from '../src/addresses.js'
import { type Worker, WorkerPool } from '../src/harness.js'
import type { LoadResult, Value } from '../src/worker/protocol.js'
import type { BackplaneSpec, StoreSpec, Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()

const PROCESSES = 8
const CALLS = 50

function backplanes(): Array<{ label: string; spec: BackplaneSpec }> {
  return [
    { label: 'Redis backplane', spec: { kind: 'redis', url: inject('redisUrl') } },
    { label: 'NATS backplane', spec: { kind: 'nats', servers: [inject('natsUrl')] } },
  ]
}

function stores(): Array<{ label: string; spec: StoreSpec }> {
  return [
    { label: 'Redis', spec: { kind: 'redis', url: inject('redisUrl') } },
    { label: 'Redis Cluster', spec: { kind: 'redisCluster', nodes: inject('redisClusterNodes') } },
    { label: 'Memcached', spec: { kind: 'memcached', servers: inject('memcachedServers') } },
  ]
}

function topologies(): Topology[] {
  return stores().flatMap((store) =>
    backplanes().map((backplane) => ({
      label: `memory + ${store.label} + ${backplane.label}`,
      store: store.spec,
      backplane: backplane.spec,
    })),
  )
}

const factoryCalls = async (workers: readonly Worker[], key: string): Promise<number> =>
  (await Promise.all(workers.map((w) => w.call({ op: 'factoryCalls', key })))).reduce((a, b) => a + b, 0)

const lockEvents = (worker: Worker, key: string, type: string) =>
  worker.find((e) => e.name === 'distributedLock' && e.key === key && e.detail === type)

const allValues = (results: readonly LoadResult[]): (Value | null)[] => results.flatMap((r) => r.values)

describe.each(topologies())('$label', (topology) => {
  it('one factory call for 8 processes x 50 callers; a holder killed mid-factory is taken over after its lock TTL', async () => {
    const workers = await pool.spawnMany(PROCESSES, { cacheName: randomKey('lock'), topology })
    await singleWinner(workers)
    await holderKilled(workers)
  })
})

/** 8 x 50 concurrent calls of a cold key: one factory call, one value, waiters woken by the message. */
async function singleWinner(workers: readonly Worker[]): Promise<void> {
  const key = randomKey('cold')
  // The check is far past the factory's 100 ms: a waiter woken in time was woken by the message.
  const options = { distributedLock: { ttlMs: 10_000, checkIntervalMs: 5_000 } }
  const results = await Promise.all(
    workers.map((w) =>
      w.call({
        op: 'load',
        key,
        value: { v: 1, by: w.name },
        factoryDelayMs: 100,
        calls: CALLS,
        concurrent: true,
        options,
      }),
    ),
  )
  const values = allValues(results)
  expect(values).toHaveLength(PROCESSES * CALLS)
  const winner = values[0]
  expect(winner).not.toBeNull()
  for (const value of values) expect(value).toEqual(winner)
  expect(await factoryCalls(workers, key)).toBe(1)
  const woken = workers.flatMap((w) => lockEvents(w, key, 'woken'))
  // A process that read the value before it had to wait emits nothing; the others heard the message.
  for (const event of woken) expect(event.action).toBe('message')
  for (const w of workers) expect(lockEvents(w, key, 'takeover')).toEqual([])
}

/** The holder dies in its factory: after the lock TTL exactly one other process runs the factory. */
async function holderKilled(workers: readonly Worker[]): Promise<void> {
  const [victim, ...others] = workers
  if (victim === undefined) throw new Error('workers')
  const key = randomKey('crash')
  const options = { distributedLock: { ttlMs: 1_000, checkIntervalMs: 100 } }
  const from = victim.events.length
  void victim
    .call({ op: 'load', key, value: { v: 0, by: 'victim' }, factoryDelayMs: 60_000, options })
    .catch(() => {})
  const holding = await victim.waitEvent((e) => e.name === 'factory' && e.key === key, {
    from,
    what: 'the holder’s factory',
  })
  const loads = others.map((w) =>
    w.call({
      op: 'load',
      key,
      value: { v: 2, by: w.name },
      factoryDelayMs: 50,
      calls: 5,
      concurrent: true,
      options,
    }),
  )
  await victim.kill()
  const values = allValues(await Promise.all(loads))
  const winner = values[0]
  expect(winner).toMatchObject({ v: 2 })
  for (const value of values) expect(value).toEqual(winner)
  expect(await factoryCalls(others, key)).toBe(1)
  const takeovers = others.flatMap((w) => lockEvents(w, key, 'takeover'))
  expect(takeovers).toHaveLength(1)
  // Not before the lock's TTL, counted between the two workers' own clocks (the events' `at`):
  // the time an event takes to reach this process is not the lock's. Memcached rounds a
  // lock's TTL up to whole seconds plus one: 1 s lives 1-2 s.
  expect((takeovers[0]?.at ?? 0) - holding.at).toBeGreaterThanOrEqual(900)
}

const downCases = () => [
  {
    label: 'memory + Redis (cut) + Redis backplane',
    target: addressOf(inject('redisUrl')),
    store: (host: string, port: number): StoreSpec => ({ kind: 'redis', url: `redis://${host}:${port}` }),
    backplane: backplanes()[0]!.spec,
  },
  {
    label: 'memory + Redis (cut) + NATS backplane',
    target: addressOf(inject('redisUrl')),
    store: (host: string, port: number): StoreSpec => ({ kind: 'redis', url: `redis://${host}:${port}` }),
    backplane: backplanes()[1]!.spec,
  },
  {
    label: 'memory + Memcached (cut) + Redis backplane',
    target: addressOf(inject('memcachedServers')),
    store: (host: string, port: number): StoreSpec => ({ kind: 'memcached', servers: `${host}:${port}` }),
    backplane: backplanes()[0]!.spec,
  },
  {
    label: 'memory + Memcached (cut) + NATS backplane',
    target: addressOf(inject('memcachedServers')),
    store: (host: string, port: number): StoreSpec => ({ kind: 'memcached', servers: `${host}:${port}` }),
    backplane: backplanes()[1]!.spec,
  },
]

describe('store down', () => {
  it.each(downCases())(
    '$label: every process answers through its own factory, with the event',
    async (testCase) => {
      const proxy = await startTcpProxy(testCase.target)
      try {
        const topology = {
          label: testCase.label,
          store: testCase.store(proxy.host, proxy.port),
          backplane: testCase.backplane,
        }
        const workers = await pool.spawnMany(3, {
          cacheName: randomKey('down'),
          topology,
          circuitBreaker: { failureThreshold: 2, resetAfterMs: 60_000 },
          resilience: { distributedLock: { ttlMs: 5_000, checkIntervalMs: 500 } },
        })
        proxy.cut()
        const key = randomKey('k')
        const results = await Promise.all(
          workers.map((w) =>
            w.call({ op: 'load', key, value: { v: 3, by: w.name }, calls: 10, concurrent: true }, 20_000),
          ),
        )
        results.forEach((result, i) => {
          expect(result.errors).toEqual([])
          expect(result.values).toEqual(Array(10).fill({ v: 3, by: workers[i]!.name }))
        })
        // Each process ran its own factory once: in-process coalescing still holds.
        for (const w of workers) expect(await w.call({ op: 'factoryCalls', key })).toBe(1)
        for (const w of workers) expect(lockEvents(w, key, 'unavailable').length).toBe(1)
      } finally {
        await proxy.close()
      }
    },
  )
})
