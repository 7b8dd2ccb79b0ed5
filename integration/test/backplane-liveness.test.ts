/**
 * Bounded staleness while the backplane is down or silent (issue 20), with real servers and
 * separate processes, for each backplane (Redis pub/sub, NATS) and store (Redis, Memcached):
 * - the backplane server is killed while the store stays up: after A changes a key, B reads the
 *   new value within maxSilenceMs + one read, for the whole outage;
 * - one process is silently partitioned from the backplane server (a proxy that drops data and
 *   keeps sockets open): B serves a replaced value for at most maxSilenceMs + the delivery
 *   bound, and caches again once the partition heals;
 * - no false alarms: 60 s of normal load with the default maxSilenceMs reports no gap.
 * Every scenario prints the staleness it measured.
 */
import { DEFAULT_MAX_SILENCE_MS } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { type RunningServer, startNats, startRedis, startTcpProxy } from '@cacheplane/test-servers'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { gapsAfter } from '../src/fault-steps.js'
import { type Worker, WorkerPool } from '../src/harness.js'
import { KeyLoad, pause } from '../src/load.js'
import { slowSystem } from '../src/slow-system.js'
import type { BackplaneSpec, StoreSpec, Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()

/**
 * Time for an invalidation to travel and for a process on a shared 2-core machine to act on a
 * timer, ms: the slack added to maxSilenceMs in the partition bound (and in the kill bound,
 * where detection is a closed socket and the slack only covers scheduling).
 */
const DELIVERY_BOUND_MS = 500
/** How long each fault lasts while A writes and B reads. */
const FAULT_MS = 5_000

interface Case {
  label: string
  /** The dedicated backplane server (killed or partitioned by the test, so not the shared one). */
  start(): Promise<RunningServer>
  store(): StoreSpec
  backplane(address: { host: string; port: number }): BackplaneSpec
}

const redisStore = (): StoreSpec => ({ kind: 'redis', url: inject('redisUrl') })
const memcachedStore = (): StoreSpec => ({ kind: 'memcached', servers: inject('memcachedServers2') })
const redisBackplane = ({ host, port }: { host: string; port: number }): BackplaneSpec => ({
  kind: 'redis',
  url: `redis://${host}:${port}`,
})
const natsBackplane = ({ host, port }: { host: string; port: number }): BackplaneSpec => ({
  kind: 'nats',
  servers: [`nats://${host}:${port}`],
  // A reconnect dial into the blackhole gives up after 2 s instead of the client's 20 s.
  dialTimeoutMs: 2_000,
})

const cases: Case[] = [
  {
    label: 'memory + Redis + Redis backplane',
    start: () => startRedis(),
    store: redisStore,
    backplane: redisBackplane,
  },
  {
    label: 'memory + Memcached x2 + Redis backplane',
    start: () => startRedis(),
    store: memcachedStore,
    backplane: redisBackplane,
  },
  {
    label: 'memory + Redis + NATS backplane',
    start: () => startNats({ jetstream: false }),
    store: redisStore,
    backplane: natsBackplane,
  },
  {
    label: 'memory + Memcached x2 + NATS backplane',
    start: () => startNats({ jetstream: false }),
    store: memcachedStore,
    backplane: natsBackplane,
  },
]

/**
 * The longest time a read of `reader` was stale: for each read started at `s` that returned
 * version `v`, how long before `s` the first write newer than `v` was acknowledged.
 */
function maxStaleness(load: KeyLoad, writer: Worker, reader: Worker, from: number): number {
  const logs = load.logs()
  const writes = logs.find((log) => log.name === writer.name)?.writes ?? []
  const reads = logs.find((log) => log.name === reader.name)?.reads ?? []
  let worst = 0
  for (const [, version, startedAt] of reads) {
    if (startedAt < from) continue
    const missed = writes.find(([, v, ackedAt]) => v > version && ackedAt < startedAt)
    if (missed !== undefined) worst = Math.max(worst, startedAt - missed[2])
  }
  return worst
}

/** B reads `key` until it answers from memory with at least `version` (it caches again). */
async function cachesAgain(reader: Worker, key: string, version: number, what: string): Promise<void> {
  await waitFor(
    async () => {
      const read = await reader.call({ op: 'get', key })
      return read !== null && read.value.v >= version && read.level === 0
    },
    {
      ...slowSystem,
      timeoutMs: 30_000,
      message: `${reader.name} to serve ${key} v${version} from memory (${what})`,
    },
  )
}

/** A writes, B reads the key until B serves it from memory: the starting point of each scenario. */
async function warm(writer: Worker, reader: Worker, key: string, load: KeyLoad): Promise<void> {
  const version = await load.write(writer)
  await cachesAgain(reader, key, version, 'before the fault')
}

describe.each(cases)('$label', (testCase) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await testCase.start()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('backplane server killed, store up: B reads every change within maxSilenceMs + one read', async () => {
    const topology: Topology = {
      label: testCase.label,
      store: testCase.store(),
      backplane: testCase.backplane(server),
    }
    const [a, b] = await pool.spawnMany(2, { cacheName: randomKey('kill'), topology })
    if (a === undefined || b === undefined) throw new Error('workers')
    const key = randomKey('k')
    const load = new KeyLoad(key, [a, b])
    await warm(a, b, key, load)
    const mark = b.events.length
    await server.kill()
    const killedAt = Date.now()
    load.start(a, [b])
    await pause(FAULT_MS) // the outage; every read in it is checked below
    await load.stop()
    const staleMs = maxStaleness(load, a, b, killedAt)
    await server.restart()
    await waitFor(() => gapsAfter(b, mark), {
      ...slowSystem,
      timeoutMs: 30_000,
      message: 'B to report a gap',
    })
    const last = await load.write(a)
    await cachesAgain(b, key, last, 'after the restart')
    console.log(
      `kill (${testCase.label}): B's longest staleness during a ${FAULT_MS} ms outage: ${staleMs} ms ` +
        `(bound ${DEFAULT_MAX_SILENCE_MS} + one read); ${load.lastAcked} writes`,
    )
    expect(staleMs).toBeLessThanOrEqual(DEFAULT_MAX_SILENCE_MS + DELIVERY_BOUND_MS)
  })

  it('B silently partitioned from the backplane: a replaced value for at most maxSilenceMs + delivery', async () => {
    const proxy = await startTcpProxy({ host: server.host, port: server.port })
    try {
      const cacheName = randomKey('blackhole')
      const direct: Topology = {
        label: testCase.label,
        store: testCase.store(),
        backplane: testCase.backplane(server),
      }
      const a = await pool.spawn({ cacheName, topology: direct, workerId: 'a' })
      const b = await pool.spawn({
        cacheName,
        topology: { ...direct, backplane: testCase.backplane(proxy) },
        workerId: 'b',
      })
      const key = randomKey('k')
      const load = new KeyLoad(key, [a, b])
      await warm(a, b, key, load)
      const mark = b.events.length
      proxy.blackhole()
      const partitionedAt = Date.now()
      load.start(a, [b])
      await pause(FAULT_MS) // the partition; every read in it is checked below
      await load.stop()
      const staleMs = maxStaleness(load, a, b, partitionedAt)
      const suspect = b.events
        .slice(mark)
        .find((e) => e.name === 'backplane' && e.detail === 'state' && e.action === 'suspect')
      proxy.heal()
      const healedAt = Date.now()
      const last = await load.write(a)
      await cachesAgain(b, key, last, 'after the partition healed')
      console.log(
        `blackhole (${testCase.label}): suspect after ${suspect === undefined ? '-' : suspect.at - partitionedAt} ms; ` +
          `B's longest staleness: ${staleMs} ms (bound ${DEFAULT_MAX_SILENCE_MS} + ${DELIVERY_BOUND_MS}); ` +
          `caching again ${Date.now() - healedAt} ms after healing; ${load.lastAcked} writes`,
      )
      expect(suspect).toBeDefined()
      expect(staleMs).toBeLessThanOrEqual(DEFAULT_MAX_SILENCE_MS + DELIVERY_BOUND_MS)
    } finally {
      await proxy.close()
    }
  })
})

describe('no false alarms', () => {
  it('60 s of normal load with the default maxSilenceMs: no suspect state, no gap, on either backplane', async () => {
    const topologies: Topology[] = [
      { label: 'redis', store: redisStore(), backplane: { kind: 'redis', url: inject('redisUrl') } },
      { label: 'nats', store: memcachedStore(), backplane: { kind: 'nats', servers: [inject('natsUrl')] } },
    ]
    const groups = await Promise.all(
      topologies.map((topology) =>
        pool.spawnMany(
          3,
          { cacheName: randomKey(`quiet-${topology.label}`), topology },
          `${topology.label}-`,
        ),
      ),
    )
    const loads = groups.map(([writer, ...readers]) => {
      if (writer === undefined) throw new Error('workers')
      const load = new KeyLoad(randomKey('k'), [writer, ...readers])
      load.start(writer, readers)
      return load
    })
    await pause(60_000) // the run: absence of alarms can only be observed over a window
    await Promise.all(loads.map((load) => load.stop()))
    const alarms = groups
      .flat()
      .flatMap((w) =>
        w.events
          .filter((e) => e.name === 'backplane' && (e.detail === 'gap' || e.action !== 'connected'))
          .map((e) => `${w.name}: ${e.detail} ${e.action}`),
      )
    console.log(
      `no false alarms: ${loads.map((l) => l.lastAcked).join(' + ')} writes in 60 s; alarms: ${alarms.length}`,
    )
    expect(alarms).toEqual([])
    expect(loads.every((load) => load.lastAcked > 100)).toBe(true)
  }, 120_000)
})
