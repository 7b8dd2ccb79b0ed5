/**
 * A NATS cluster node dies while a process writes: the readers connected to it fail over to the
 * nodes they learnt from the cluster, report a gap, and the staleness checker finds no stale read;
 * everybody converges on the last acknowledged write.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { type NatsCluster, startNatsCluster } from '@cacheplane/test-servers'
import { afterAll, beforeAll, describe, inject, it } from 'vitest'
import { connectedAfter, finish, gapsAfter } from '../src/fault-steps.js'
import { WorkerPool } from '../src/harness.js'
import { KeyLoad } from '../src/load.js'
import { slowSystem } from '../src/slow-system.js'
import type { Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()

describe('memory + Redis + 3-node NATS cluster backplane', () => {
  let cluster: NatsCluster
  beforeAll(async () => {
    // An own cluster: this test kills one of its nodes.
    cluster = await startNatsCluster({ jetstream: false })
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it('node failure: readers fail over to the other nodes, report a gap, serve nothing stale', async () => {
    const [first, second] = cluster.urls
    if (first === undefined || second === undefined) throw new Error('a 3-node cluster')
    const cacheName = randomKey('failover')
    const topology = (url: string): Topology => ({
      label: 'nats cluster',
      store: { kind: 'redis', url: inject('redisUrl') },
      // Given one node only: the client learns the others from the cluster and fails over to them.
      backplane: { kind: 'nats', servers: [url] },
    })
    const writer = await pool.spawn({ cacheName, topology: topology(second), workerId: 'writer' })
    const readers = await pool.spawnMany(2, { cacheName, topology: topology(first) }, 'reader')
    const key = randomKey('k')
    const load = new KeyLoad(key, [writer, ...readers])
    load.start(writer, readers)
    await waitFor(() => load.lastAcked >= 20, { ...slowSystem, message: 'the writer to get going' })
    const from = readers.map((r) => r.events.length)
    await cluster.nodes[0]?.kill()
    await waitFor(
      () => readers.every((r, i) => gapsAfter(r, from[i] ?? 0) && connectedAfter(r, from[i] ?? 0)),
      {
        ...slowSystem,
        timeoutMs: 30_000,
        message: 'both readers to report a gap and to be connected to another node',
      },
    )
    await finish(load, writer, readers, 'NATS cluster node killed')
  })
})
