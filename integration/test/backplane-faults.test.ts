/**
 * The pub/sub server restarts, or one process's connection to it is cut for a few seconds, while
 * another process writes. After the gap no process serves a value older than the last write it
 * had to know about (the staleness checker, with cleared gaps as invalidations), and every
 * process converges on the last acknowledged write.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import {
  type RunningServer,
  startNats,
  startRedis,
  startTcpProxy,
  type TcpProxy,
} from '@cacheplane/test-servers'
import { afterAll, beforeAll, describe, inject, it } from 'vitest'
import { connectedAfter, finish, gapsAfter } from '../src/fault-steps.js'
import { WorkerPool } from '../src/harness.js'
import { KeyLoad, pause } from '../src/load.js'
import { slowSystem } from '../src/slow-system.js'
import type { BackplaneSpec, StoreSpec, Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()

interface Case {
  label: string
  /** Starts the dedicated pub/sub server (restarted by the test, so not the shared one). */
  start(): Promise<RunningServer>
  store(): StoreSpec
  backplane(address: { host: string; port: number }): BackplaneSpec
}

const cases: Case[] = [
  {
    label: 'memory + Redis + Redis backplane',
    start: () => startRedis(),
    store: () => ({ kind: 'redis', url: inject('redisUrl') }),
    backplane: ({ host, port }) => ({ kind: 'redis', url: `redis://${host}:${port}` }),
  },
  {
    label: 'memory + Memcached x2 + NATS backplane',
    start: () => startNats({ jetstream: false }),
    store: () => ({ kind: 'memcached', servers: inject('memcachedServers2') }),
    backplane: ({ host, port }) => ({ kind: 'nats', servers: [`nats://${host}:${port}`] }),
  },
  {
    label: 'memory + Redis + NATS replay backplane',
    start: () => startNats(),
    store: () => ({ kind: 'redis', url: inject('redisUrl') }),
    backplane: ({ host, port }) => ({
      kind: 'nats',
      servers: [`nats://${host}:${port}`],
      replayMaxAgeMs: 60_000,
    }),
  },
]

describe.each(cases)('$label', (testCase) => {
  let server: RunningServer
  beforeAll(async () => {
    server = await testCase.start()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('pub/sub server restarted while another process writes: no stale value after the gap', async () => {
    const topology: Topology = {
      label: testCase.label,
      store: testCase.store(),
      backplane: testCase.backplane(server),
    }
    const [writer, ...readers] = await pool.spawnMany(3, { cacheName: randomKey('restart'), topology })
    if (writer === undefined) throw new Error('workers')
    const key = randomKey('k')
    const load = new KeyLoad(key, [writer, ...readers])
    load.start(writer, readers)
    await waitFor(() => load.lastAcked >= 20, { ...slowSystem, message: 'the writer to get going' })
    const from = readers.map((r) => r.events.length)
    await server.restart()
    await waitFor(
      () => readers.every((r, i) => gapsAfter(r, from[i] ?? 0) && connectedAfter(r, from[i] ?? 0)),
      { ...slowSystem, timeoutMs: 30_000, message: 'every reader to report a gap and to be connected again' },
    )
    await finish(load, writer, readers, `restart (${testCase.label})`)
  })

  it('one process cut from the pub/sub server for 3 s, then healed: no stale value after the gap', async () => {
    const proxy: TcpProxy = await startTcpProxy({ host: server.host, port: server.port })
    try {
      const cacheName = randomKey('cut')
      const direct: Topology = {
        label: testCase.label,
        store: testCase.store(),
        backplane: testCase.backplane(server),
      }
      const viaProxy: Topology = { ...direct, backplane: testCase.backplane(proxy) }
      const [writer, reader] = await pool.spawnMany(2, { cacheName, topology: direct })
      const cut = await pool.spawn({ cacheName, topology: viaProxy, workerId: 'cut' })
      if (writer === undefined || reader === undefined) throw new Error('workers')
      const key = randomKey('k')
      const load = new KeyLoad(key, [writer, reader, cut])
      load.start(writer, [reader, cut])
      await waitFor(() => load.lastAcked >= 20, { ...slowSystem, message: 'the writer to get going' })
      const from = cut.events.length
      proxy.cut()
      await waitFor(
        () =>
          cut.events
            .slice(from)
            .some((e) => e.name === 'backplane' && e.detail === 'state' && e.action !== 'connected'),
        { ...slowSystem, timeoutMs: 15_000, message: 'the cut process to notice it lost the backplane' },
      )
      await pause(3_000) // the partition lasts a few seconds; nothing is asserted across it
      proxy.heal()
      await waitFor(() => gapsAfter(cut, from) && connectedAfter(cut, from), {
        ...slowSystem,
        timeoutMs: 30_000,
        message: 'the cut process to report a gap and reconnect',
      })
      await finish(load, writer, [reader, cut], `cut 3 s (${testCase.label})`)
    } finally {
      await proxy.close()
    }
  })
})
