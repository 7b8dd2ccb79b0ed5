/**
 * Bytes written straight into the store by someone else, in place of an item: a process reading it
 * gets a miss and an `error` event (never a crash, never garbage as a value), and a write repairs it.
 */
import { randomBytes } from 'node:crypto'
import { cacheKeyPrefix, storeKey } from '@cacheplane/core'
import { randomKey } from '@cacheplane/core/testing'
import { Cluster, Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { addressOf } from '../src/addresses.js'
import { WorkerPool } from '../src/harness.js'
import { memcachedKeys, memcachedOverwrite } from '../src/memcached-raw.js'
import { distributedTopologies, memcachedNatsTopology, redisTopology } from '../src/topologies.js'
import type { Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()

interface Case {
  topology: Topology
  /** Replaces the stored item of `key` with garbage; fails if the item is not where expected. */
  corrupt(cacheName: string, key: string): Promise<void>
}

/** The Redis handle stores each item as one string (core's envelope) at `<prefix><cache>:<region>:<key>`. */
async function corruptRedis(client: Redis | Cluster, cacheName: string, key: string): Promise<void> {
  const itemKey = storeKey(cacheKeyPrefix('cacheplane:', cacheName), undefined, key)
  try {
    expect(await client.exists(itemKey)).toBe(1)
    // Garbage where the envelope's header starts, keeping the key's lifetime.
    expect(await client.setrange(itemKey, 0, randomBytes(48))).toBeGreaterThanOrEqual(48)
  } finally {
    await client.quit()
  }
}

const cluster = distributedTopologies().find((t) => t.store?.kind === 'redisCluster') as Topology
const cases: Case[] = [
  {
    topology: redisTopology(),
    corrupt: (cacheName, key) => corruptRedis(new Redis(inject('redisUrl')), cacheName, key),
  },
  {
    topology: cluster,
    corrupt: (cacheName, key) =>
      corruptRedis(new Cluster(inject('redisClusterNodes').map((node) => ({ ...node }))), cacheName, key),
  },
  {
    topology: memcachedNatsTopology(),
    async corrupt(cacheName, key) {
      // Keys carry generations; find the item's key on whichever server holds it.
      let found = 0
      for (const server of inject('memcachedServers2').split(',').map(addressOf)) {
        for (const stored of await memcachedKeys(server)) {
          if (stored.includes(cacheName) && stored.endsWith(`:${key}`)) {
            await memcachedOverwrite(server, stored, randomBytes(48))
            found++
          }
        }
      }
      expect(found).toBe(1)
    },
  },
]

describe.each(cases)('$topology.label', ({ topology, corrupt }) => {
  it('corrupted bytes in the store read as a miss with an error event', async () => {
    const cacheName = randomKey('corrupt')
    const [writer, reader] = await pool.spawnMany(2, { cacheName, topology })
    if (writer === undefined || reader === undefined) throw new Error('workers')
    const key = randomKey('k')
    await writer.call({ op: 'set', key, value: { v: 1, by: 'w' } })
    await corrupt(cacheName, key)

    const from = reader.events.length
    expect(await reader.call({ op: 'get', key })).toBeNull()
    const error = await reader.waitEvent((e) => e.name === 'error', { from, what: 'an error event' })
    expect(error.action).toBe('ItemCorruptError')
    expect(reader.alive).toBe(true)
    // A later write replaces the garbage.
    await writer.call({ op: 'set', key, value: { v: 2, by: 'w' } })
    expect((await reader.call({ op: 'get', key }))?.value.v).toBe(2)
  })
})
