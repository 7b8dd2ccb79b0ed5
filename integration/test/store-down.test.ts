/**
 * The distributed cache goes away — every connection to it cut by a proxy (connections accepted,
 * then closed at once, like a load balancer with no live backend), or the server killed — and
 * comes back. Processes keep answering from memory and from the factory, report `error` events,
 * fail writes to the caller, and recover by themselves.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import {
  type RunningServer,
  startOwnMemcached,
  startRedis,
  startTcpProxy,
  type TcpProxy,
} from '@cacheplane/test-servers'
import { describe, expect, inject, it } from 'vitest'
import { addressOf } from '../src/addresses.js'
import { expectRemote, marks } from '../src/expect-events.js'
import { WorkerCommandError, WorkerPool } from '../src/harness.js'
import { slowSystem } from '../src/slow-system.js'
import type { Address, StoreSpec, Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()

interface Case {
  label: string
  store(): Address
  /** A server of that kind the test may kill and restart. */
  own(): Promise<RunningServer>
  viaProxy(proxy: Address): StoreSpec
  topology(store: StoreSpec): Topology
  /**
   * A restart empties the store and its clear counters come back larger (Memcached's
   * generations): to an instance that is a clear it never heard of, so its copies go.
   */
  restartClears: boolean
}

/** How the store goes away and comes back; `start` returns the store address the workers use. */
interface Outage {
  start(): Promise<Address>
  down(): Promise<void>
  up(): Promise<void>
  dispose(): Promise<void>
}

const cases: Case[] = [
  {
    label: 'memory + Redis (through a proxy) + Redis backplane',
    store: () => addressOf(inject('redisUrl')),
    own: () => startRedis(),
    viaProxy: ({ host, port }) => ({ kind: 'redis', url: `redis://${host}:${port}` }),
    restartClears: false,
    topology: (store) => ({ label: 'redis', store, backplane: { kind: 'redis', url: inject('redisUrl') } }),
  },
  {
    label: 'memory + Memcached (through a proxy) + NATS backplane',
    store: () => addressOf(inject('memcachedServers')),
    own: () => startOwnMemcached(),
    viaProxy: ({ host, port }) => ({ kind: 'memcached', servers: `${host}:${port}` }),
    restartClears: true,
    topology: (store) => ({
      label: 'memcached',
      store,
      backplane: { kind: 'nats', servers: [inject('natsUrl')] },
    }),
  },
]

const outages: Record<'cut' | 'killed', (testCase: Case) => Outage> = {
  cut: (testCase) => {
    let proxy: TcpProxy | undefined
    return {
      start: async () => {
        proxy = await startTcpProxy(testCase.store())
        return proxy
      },
      down: async () => proxy?.cut(),
      up: async () => proxy?.heal(),
      dispose: async () => proxy?.close(),
    }
  },
  killed: (testCase) => {
    let server: RunningServer | undefined
    return {
      start: async () => {
        server = await testCase.own()
        return server
      },
      down: async () => server?.kill(),
      up: async () => server?.restart(),
      dispose: async () => server?.stop(),
    }
  },
}

describe.each(cases)('$label', (testCase) => {
  it.each(['cut', 'killed'] as const)(
    'store %s: answers from memory and the factory, reports errors, recovers without restart',
    async (mode) => {
      const outage = outages[mode](testCase)
      try {
        const topology = testCase.topology(testCase.viaProxy(await outage.start()))
        await storeOutage(topology, outage, mode === 'killed' && testCase.restartClears)
      } finally {
        await outage.dispose()
      }
    },
  )
})

async function storeOutage(topology: Topology, outage: Outage, restartClears: boolean): Promise<void> {
  const spec = {
    cacheName: randomKey('down'),
    topology,
    circuitBreaker: { failureThreshold: 2, resetAfterMs: 500 },
  }
  const [a, b] = await pool.spawnMany(2, spec)
  if (a === undefined || b === undefined) throw new Error('workers')
  const held = randomKey('held')
  const from = marks([b])
  await a.call({ op: 'set', key: held, value: { v: 1, by: 'a' } })
  await expectRemote([b], from, 'set', { key: held })
  await waitFor(async () => (await b.call({ op: 'get', key: held }))?.level === 0, {
    ...slowSystem,
    message: 'b to hold a copy',
  })

  await outage.down()
  const errorsFrom = b.events.length
  // Memory answers what it holds. Each call is given 10 s: a hang is a failure, not a wait.
  expect(await b.call({ op: 'get', key: held }, 10_000)).toMatchObject({ value: { v: 1 }, level: 0 })
  // A key only the store could have: a miss, then the factory answers getOrAdd.
  expect(await b.call({ op: 'get', key: randomKey('absent') }, 10_000)).toBeNull()
  const loaded = await b.call(
    { op: 'getOrAdd', key: randomKey('loaded'), value: { v: 7, by: 'factory' } },
    10_000,
  )
  expect(loaded).toEqual({ v: 7, by: 'factory' })
  await b.waitEvent((e) => e.name === 'error', { from: errorsFrom, what: 'an error event' })
  // Writes report their failure to the caller (nothing is silently lost).
  await expect(
    a.call({ op: 'set', key: randomKey('w'), value: { v: 1, by: 'a' } }, 10_000),
  ).rejects.toBeInstanceOf(WorkerCommandError)

  await outage.up()
  const after = randomKey('after')
  await waitFor(
    async () => {
      await a.call({ op: 'set', key: after, value: { v: 9, by: 'a' } }, 10_000)
      return (await b.call({ op: 'get', key: after }, 10_000))?.value.v === 9
    },
    {
      ...slowSystem,
      timeoutMs: 30_000,
      intervalMs: 200,
      message: 'a write and a read through the store to work again',
    },
  )
  if (!restartClears) {
    expect((await b.call({ op: 'get', key: held }))?.value.v).toBe(1)
    return
  }
  // The restarted store is empty and its generation counters grew: B finds that clear by its
  // periodic counter re-read (generationRefreshMs) and drops its copy, which the store no
  // longer has either.
  await waitFor(async () => (await b.call({ op: 'get', key: held })) === null, {
    ...slowSystem,
    message: 'b to drop its copy after the store restarted empty',
  })
}
