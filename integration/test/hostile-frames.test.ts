/**
 * A foreign client publishes on a cache's channel: random bytes, a truncated frame, an unsigned
 * frame and frames signed with the wrong secret, all naming a key the processes hold and asking for
 * a full clear. Every process ignores them (counted as dropped in stats), evicts nothing, keeps
 * running and keeps hearing legitimate frames.
 */
import { randomBytes } from 'node:crypto'
import { encodeFrame } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { describe, expect, inject, it } from 'vitest'
import { expectRemote, marks } from '../src/expect-events.js'
import {
  clusterPublisher,
  type ForeignPublisher,
  natsPublisher,
  redisPublisher,
} from '../src/foreign-publisher.js'
import { type Worker, WorkerPool } from '../src/harness.js'
import { distributedTopologies, memcachedNatsTopology, redisTopology } from '../src/topologies.js'
import { slowSystem } from '../src/slow-system.js'
import type { Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()
const SECRET = 'the-right-secret'

interface Case {
  topology: Topology
  /** Connects the foreign client; `legit` makes a process publish once (for clients that must learn the subject). */
  publisher(cacheName: string, legit: () => Promise<void>): Promise<ForeignPublisher>
}

const cluster = distributedTopologies().find((t) => t.store?.kind === 'redisCluster') as Topology
const cases: Case[] = [
  {
    topology: redisTopology(),
    publisher: (cacheName) => redisPublisher(inject('redisUrl'), `cacheplane:${cacheName}`),
  },
  {
    topology: cluster,
    publisher: (cacheName) => clusterPublisher(inject('redisClusterNodes'), `cacheplane:${cacheName}`),
  },
  {
    topology: memcachedNatsTopology(),
    publisher: async (_cacheName, legit) => {
      const publisher = await natsPublisher(inject('natsUrl'))
      await legit()
      await publisher.learn()
      return publisher
    },
  },
]

function hostileFrames(key: string): Uint8Array[] {
  const senderId = randomBytes(16).toString('hex')
  const frame = {
    senderId,
    messages: [{ type: 'removed', key, region: undefined } as const, { type: 'cleared' } as const],
  }
  const unsigned = encodeFrame(frame)
  return [
    randomBytes(64),
    Buffer.from('not a frame at all'),
    unsigned.subarray(0, Math.max(1, unsigned.length - 3)),
    unsigned,
    encodeFrame(frame, { secret: 'a-wrong-secret' }),
    encodeFrame(
      { senderId, messages: [{ type: 'changed', change: 'set', key, region: undefined }] },
      { secret: 'nope' },
    ),
  ]
}

async function dropped(worker: Worker): Promise<number> {
  const stats = (await worker.call({ op: 'stats' })) as { backplane: { droppedInvalid: number } }
  return stats.backplane.droppedInvalid
}

describe.each(cases)('$topology.label', ({ topology, publisher: connectPublisher }) => {
  it('garbage and wrongly signed frames are ignored, counted, evict nothing and crash nobody', async () => {
    const cacheName = randomKey('hostile')
    const workers = await pool.spawnMany(3, { cacheName, topology, secret: SECRET })
    const [a, ...others] = workers
    if (a === undefined) throw new Error('workers')
    const key = randomKey('k')
    const from = marks(others)
    const publisher = await connectPublisher(cacheName, () =>
      a.call({ op: 'set', key, value: { v: 1, by: 'a' } }).then(() => {}),
    )
    try {
      await a.call({ op: 'set', key, value: { v: 1, by: 'a' } })
      await expectRemote(others, from, 'set', { key })
      for (const w of workers) {
        await waitFor(async () => (await w.call({ op: 'get', key }))?.level === 0, {
          ...slowSystem,
          message: `${w.name} to hold a copy`,
        })
      }
      const droppedBefore = await Promise.all(workers.map(dropped))
      const eventsFrom = marks(workers)

      const frames = hostileFrames(key)
      await publisher.publish(frames)
      await Promise.all(
        workers.map((w, i) =>
          waitFor(async () => (await dropped(w)) >= (droppedBefore[i] ?? 0) + frames.length, {
            ...slowSystem,
            message: `${w.name} to count ${frames.length} dropped frames`,
          }),
        ),
      )
      // A legitimate frame still gets through afterwards.
      const marker = randomKey('marker')
      const markerFrom = marks(others)
      await a.call({ op: 'set', key: marker, value: { v: 1, by: 'a' } })
      await expectRemote(others, markerFrom, 'set', { key: marker })

      for (const [i, w] of workers.entries()) {
        expect((await dropped(w)) - (droppedBefore[i] ?? 0)).toBe(frames.length)
        // Nothing evicted: still answered from memory.
        expect(await w.call({ op: 'get', key })).toMatchObject({ value: { v: 1 }, level: 0 })
        const remote = w.events.slice(eventsFrom[i]).filter((e) => e.origin === 'remote' && e.key !== marker)
        expect(remote).toEqual([])
        expect(w.alive).toBe(true)
        expect(w.find((e) => e.name === 'crash')).toEqual([])
      }
    } finally {
      await publisher.close()
    }
  })
})
