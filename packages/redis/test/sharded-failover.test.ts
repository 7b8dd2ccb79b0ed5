import { randomKey, waitFor } from '@cacheplane/core/testing'
import { type RedisCluster, startRedisCluster } from '@cacheplane/test-servers'
import { Cluster, type Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisBackplane } from '../src/index.js'
import { keySlot } from '../src/key-slot.js'
import { RecordingListener } from './recording-listener.js'
import { closeAll } from './topologies.js'

// A cluster of its own: moving a slot on the shared one would hide keys other test files write.
describe('sharded pub/sub when the channel slot moves to another master', () => {
  let servers: RedisCluster
  let admin: Cluster

  beforeAll(async () => {
    servers = await startRedisCluster({ masters: 3 })
    admin = new Cluster(servers.nodes.map(({ host, port }) => ({ host, port })))
    await admin.ping()
  })

  afterAll(async () => {
    await closeAll([admin])
    await servers.stop()
  })

  async function moveSlot(slot: number, to: Redis): Promise<void> {
    const masters = admin.nodes('master')
    const id = (await to.cluster('MYID')) as string
    // The new owner first, then everyone else (the slot holds no keys, so nothing to migrate).
    await to.cluster('SETSLOT', slot, 'NODE', id)
    await Promise.all(masters.filter((m) => m !== to).map((m) => m.cluster('SETSLOT', slot, 'NODE', id)))
  }

  it('reports a gap, resubscribes on the new owner and keeps delivering', async () => {
    const connection = { cluster: servers.nodes.map(({ host, port }) => ({ host, port })) }
    const channel = randomKey('cacheplane:moving')
    const receiver = redisBackplane(connection)
    const sender = redisBackplane(connection)
    const heard = new RecordingListener()
    await receiver.connect(channel, heard).ready
    const publisher = sender.connect(channel, new RecordingListener())
    await publisher.ready
    try {
      await publisher.publish(new TextEncoder().encode('before'))
      await waitFor(() => heard.texts().includes('before'), { message: 'a frame before the move' })

      const slot = keySlot(channel)
      const owner = admin.slots[slot]?.[0]
      const target = admin
        .nodes('master')
        .find((node) => `${node.options.host}:${node.options.port}` !== owner)
      if (target === undefined) throw new Error('no other master to move the slot to')
      await moveSlot(slot, target)

      await waitFor(() => heard.gaps.length > 0, { message: 'a gap after the slot moved' })
      expect(heard.gaps[0]).toMatchObject({ reason: 'resubscribe', recovered: false })
      expect(heard.states).toContain('disconnected')
      await waitFor(() => heard.states.at(-1) === 'connected', { message: 'the subscription to come back' })
      await waitFor(
        async () => {
          await publisher.publish(new TextEncoder().encode('after'))
          return heard.texts().includes('after')
        },
        { message: 'a frame after the move', timeoutMs: 10_000, intervalMs: 200 },
      )
      const counts = await Promise.all(
        admin.nodes('master').map(async (node) => ({
          node: `${node.options.host}:${node.options.port}`,
          subscribers: Number(((await node.call('PUBSUB', 'SHARDNUMSUB', channel)) as unknown[])[1]),
        })),
      )
      expect(counts.filter((c) => c.subscribers > 0).map((c) => c.node)).toEqual([
        `${target.options.host}:${target.options.port}`,
      ])
    } finally {
      await receiver.close()
      await sender.close()
    }
  })
})
