/**
 * Three caches in each process share one backplane object (one pub/sub connection per process):
 * a change to each cache in one process is heard by that cache, and only that cache, in the
 * other process; after the pub/sub server restarts, every cache of every process reports a gap,
 * is connected again, and hears changes as before. Redis standalone and Cluster (sharded pub/sub),
 * NATS plain and with JetStream replay.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { type RunningServer, startNats, startRedis, startRedisCluster } from '@cacheplane/test-servers'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type Worker, WorkerPool } from '../src/harness.js'
import { slowSystem } from '../src/slow-system.js'
import type { BackplaneSpec, StoreSpec, Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()

/** A dedicated pub/sub deployment (restarted by the test, so not the shared one). */
interface Deployment {
  readonly backplane: BackplaneSpec
  restart(): Promise<void>
  stop(): Promise<void>
}

interface Case {
  label: string
  start(): Promise<Deployment>
  store(): StoreSpec
}

const single = (server: RunningServer, backplane: BackplaneSpec): Deployment => ({
  backplane,
  restart: () => server.restart(),
  stop: () => server.stop(),
})

const cases: Case[] = [
  {
    label: 'Redis standalone',
    start: async () => {
      const server = await startRedis()
      return single(server, { kind: 'redis', url: server.url })
    },
    store: () => ({ kind: 'redis', url: inject('redisUrl') }),
  },
  {
    label: 'Redis Cluster, sharded pub/sub',
    start: async () => {
      const cluster = await startRedisCluster()
      const nodes = cluster.nodes.map(({ host, port }) => ({ host, port }))
      return {
        backplane: { kind: 'redisCluster', nodes, sharded: true },
        // Every master in turn: each holds some of the caches' sharded subscriptions.
        restart: async () => {
          for (const node of cluster.nodes) await node.restart()
        },
        stop: () => cluster.stop(),
      }
    },
    store: () => ({ kind: 'redisCluster', nodes: inject('redisClusterNodes') }),
  },
  {
    label: 'NATS',
    start: async () => {
      const server = await startNats({ jetstream: false })
      return single(server, { kind: 'nats', servers: [server.url] })
    },
    store: () => ({ kind: 'redis', url: inject('redisUrl') }),
  },
  {
    label: 'NATS with JetStream replay',
    start: async () => {
      const server = await startNats()
      return single(server, { kind: 'nats', servers: [server.url], replayMaxAgeMs: 60_000 })
    },
    store: () => ({ kind: 'redis', url: inject('redisUrl') }),
  },
]

const heardSet = (name: string, key: string) => (e: Worker['events'][number]) =>
  e.name === 'set' && e.origin === 'remote' && e.key === key && e.cache === name

/** For each cache: `reader` holds an old value in memory, `writer` replaces it, `reader` hears it and reads the new one. */
async function changesHeard(
  writer: Worker,
  reader: Worker,
  names: readonly string[],
  key: string,
): Promise<void> {
  const from = reader.events.length
  for (const [i, name] of names.entries()) {
    await reader.call({ op: 'set', cache: name, key, value: { v: 1, by: reader.name } })
    expect((await reader.call({ op: 'get', cache: name, key }))?.level).toBe(0)
    const mark = reader.events.length
    await writer.call({ op: 'set', cache: name, key, value: { v: 10 + i, by: writer.name } })
    await reader.waitEvent(heardSet(name, key), {
      from: mark,
      timeoutMs: 20_000,
      what: `${name}: remote set`,
    })
    expect((await reader.call({ op: 'get', cache: name, key }))?.value.v).toBe(10 + i)
  }
  // Each change reached its own cache only: one remote set per cache, none in the others.
  const heard = reader.events
    .slice(from)
    .filter((e) => e.name === 'set' && e.origin === 'remote' && e.key === key)
  expect(heard.map((e) => e.cache).sort()).toEqual([...names].sort())
}

/** True when cache `name` of `worker` reported a gap after event `from` and its last state is `connected`. */
function recovered(worker: Worker, name: string, from: number): boolean {
  const own = worker.events.slice(from).filter((e) => e.name === 'backplane' && e.cache === name)
  const states = own.filter((e) => e.detail === 'state')
  return own.some((e) => e.detail === 'gap') && states.at(-1)?.action === 'connected'
}

describe.each(cases)('$label', (testCase) => {
  let deployment: Deployment
  beforeAll(async () => {
    deployment = await testCase.start()
  })
  afterAll(async () => {
    await deployment?.stop()
  })

  it('three caches on one backplane per process: each hears its own changes, also after a server restart', async () => {
    const names = [randomKey('users'), randomKey('products'), randomKey('sessions')]
    const topology: Topology = {
      label: testCase.label,
      store: testCase.store(),
      backplane: deployment.backplane,
    }
    const [a, b] = await pool.spawnMany(2, {
      cacheName: names[0] as string,
      sharedWith: names.slice(1),
      topology,
    })
    if (a === undefined || b === undefined) throw new Error('workers')
    await changesHeard(a, b, names, 'before-1')
    await changesHeard(b, a, names, 'before-2')

    const from = [a.events.length, b.events.length]
    await deployment.restart()
    await waitFor(() => [a, b].every((w, i) => names.every((name) => recovered(w, name, from[i] ?? 0))), {
      ...slowSystem,
      timeoutMs: 60_000,
      message: 'every cache of both processes to report a gap and to be connected again',
    })
    await changesHeard(a, b, names, 'after-1')
    await changesHeard(b, a, names, 'after-2')
  })
})
