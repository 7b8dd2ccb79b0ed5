import { Cluster } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { startNatsCluster, startRedisCluster } from '../src/index.js'
import { redisCommand } from '../src/redis-command.js'
import { rawExchange, refuses } from './probe-helpers.js'

describe('startRedisCluster', () => {
  it('creates a 3-master cluster that ioredis can use, and a node restarts on its port', async () => {
    const cluster = await startRedisCluster()
    try {
      expect(cluster.nodes).toHaveLength(3)
      expect(cluster.url).toBe(cluster.nodes[0]?.url)
      for (const node of cluster.nodes) {
        const info = await redisCommand(node.host, node.port, 'CLUSTER', 'INFO')
        expect(info).toContain('cluster_state:ok')
        expect(info).toContain('cluster_size:3')
      }
      const client = new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port })))
      try {
        const keys = Array.from({ length: 30 }, (_, index) => `key-${index}`)
        await Promise.all(keys.map((key) => client.set(key, key)))
        expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys)
      } finally {
        client.disconnect()
      }
      const node = cluster.nodes[1]!
      await node.kill()
      expect(await refuses(node.host, node.port)).toBe(true)
      await node.restart()
      expect(await rawExchange(node.host, node.port, 'PING\r\n', '+PONG')).toContain('+PONG')
    } finally {
      await cluster.stop()
    }
  })

  it('refuses fewer than 3 masters', async () => {
    await expect(startRedisCluster({ masters: 2 })).rejects.toThrow(/at least 3 masters/)
  })
})

describe('startNatsCluster', () => {
  it('starts 3 routed nodes; a message published on one reaches a subscriber on another', async () => {
    const cluster = await startNatsCluster({ jetstream: false })
    try {
      expect(cluster.urls).toHaveLength(3)
      const [first, second] = cluster.nodes
      const subscriber = await openNats(second!.host, second!.port)
      try {
        subscriber.write('SUB probe.subject 1\r\nPING\r\n')
        await subscriber.waitFor('PONG')
        // Interest propagates over the route asynchronously: publish until it arrives (deadline-bound).
        const deadline = Date.now() + 10_000
        while (!subscriber.received().includes('MSG probe.subject')) {
          if (Date.now() > deadline) throw new Error('message never crossed the route')
          await rawExchange(
            first!.host,
            first!.port,
            'CONNECT {}\r\nPUB probe.subject 5\r\nhello\r\nPING\r\n',
            'PONG',
          )
          await subscriber.waitFor('MSG probe.subject', 200).catch(() => undefined)
        }
        expect(subscriber.received()).toContain('hello')
      } finally {
        subscriber.close()
      }
    } finally {
      await cluster.stop()
    }
  })

  it('with JetStream creates a stream replicated on 3 peers', async () => {
    const cluster = await startNatsCluster()
    try {
      const node = cluster.nodes[0]!
      const client = await openNats(node.host, node.port)
      try {
        const config = JSON.stringify({
          name: 'probe',
          subjects: ['probe.>'],
          num_replicas: 3,
          storage: 'memory',
        })
        client.write(
          `SUB reply.probe 1\r\nPUB $JS.API.STREAM.CREATE.probe reply.probe ${config.length}\r\n${config}\r\n`,
        )
        await client.waitFor('MSG reply.probe', 15_000)
        await client.waitFor('}\r\n')
        const reply = client.received()
        expect(reply).toMatch(/"num_replicas":3/)
        expect(reply).toMatch(/"leader":"cacheplane-[^"]+-n\d"/)
        expect(reply).not.toMatch(/"error"/)
      } finally {
        client.close()
      }
    } finally {
      await cluster.stop()
    }
    expect(await refuses(cluster.nodes[0]!.host, cluster.nodes[0]!.port)).toBe(true)
  })
})

/** A raw NATS client connection: enough to subscribe and watch the protocol text. */
async function openNats(host: string, port: number) {
  const { connect } = await import('node:net')
  const socket = connect({ host, port })
  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    text += chunk
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  socket.write('CONNECT {"verbose":false}\r\n')
  return {
    write: (data: string) => socket.write(data),
    received: () => text,
    close: () => socket.destroy(),
    async waitFor(needle: string, timeoutMs = 5_000): Promise<void> {
      const deadline = Date.now() + timeoutMs
      while (!text.includes(needle)) {
        if (Date.now() > deadline) throw new Error(`no '${needle}' within ${timeoutMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
  }
}
