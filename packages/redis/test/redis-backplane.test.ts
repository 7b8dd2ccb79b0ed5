import { InvalidOptionsError } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { freePort, startTcpProxy } from '@cacheplane/test-servers'
import { afterEach, describe, expect, it } from 'vitest'
import { redisBackplane } from '../src/index.js'
import type { RedisClient } from '../src/redis-connection.js'
import { RecordingListener } from './recording-listener.js'
import { closeAll, mastersOf, standalone, topologies } from './topologies.js'

const bytes = (text: string) => new TextEncoder().encode(text)

const variants = [
  ...topologies.map((topology) => ({ topology, sharded: 'auto' as const })),
  ...topologies
    .filter((t) => t.name === 'cluster')
    .map((topology) => ({ topology, sharded: false as const })),
]

describe.each(variants)(
  'redisBackplane on $topology.name Redis (sharded: $sharded)',
  ({ topology, sharded }) => {
    const clients: RedisClient[] = []
    const closers: Array<() => unknown> = []

    afterEach(async () => {
      await Promise.all(closers.splice(0).map((close) => close()))
      await closeAll(clients.splice(0))
    })

    async function connected(channel: string) {
      const client = topology.connect()
      clients.push(client)
      const backplane = redisBackplane({ client, sharded })
      closers.push(() => backplane.close())
      const listener = new RecordingListener()
      const subscription = backplane.connect(channel, listener)
      await subscription.ready
      return { client, backplane, subscription, listener }
    }

    it('delivers binary frames to every subscriber of the channel, and only of that channel', async () => {
      const channel = randomKey('cacheplane:chan')
      const a = await connected(channel)
      const b = await connected(channel)
      const other = await connected(`${channel}-other`)
      const frame = new Uint8Array([0, 1, 255, 0, 128, 10, 13])
      await a.subscription.publish(frame)
      await b.subscription.publish(bytes('second'))
      for (const { listener } of [a, b]) {
        await waitFor(() => listener.frames.length === 2, { message: 'both frames' })
        expect(listener.frames[0]).toEqual(frame)
        expect(listener.texts()[1]).toBe('second')
      }
      await other.subscription.publish(bytes('other'))
      await waitFor(() => other.listener.frames.length === 1, { message: "the other channel's frame" })
      expect(a.listener.frames).toHaveLength(2)
      expect(a.listener.states).toEqual(['connected'])
      if (topology.name === 'cluster') {
        // Sharded subscriptions live only on the slot's master; plain ones are invisible to SHARDNUMSUB.
        const replies = await Promise.all(
          (await mastersOf(a.client)).map(
            (node) => node.call('PUBSUB', 'SHARDNUMSUB', channel) as Promise<unknown[]>,
          ),
        )
        const subscribers = replies.reduce((sum, reply) => sum + Number(reply[1]), 0)
        expect(subscribers).toBe(sharded === 'auto' ? 2 : 0)
      }
      expect(a.listener.gaps).toEqual([])
    })

    it('reports a gap after its subscriber connection is killed, and keeps delivering', async () => {
      const channel = randomKey('cacheplane:chan')
      const sender = await connected(channel)
      const receiver = await connected(channel)
      await Promise.all((await mastersOf(sender.client)).map((node) => node.client('KILL', 'TYPE', 'pubsub')))
      await waitFor(() => receiver.listener.gaps.length >= 1 && sender.listener.gaps.length >= 1, {
        message: 'gaps after CLIENT KILL',
      })
      expect(receiver.listener.gaps[0]).toMatchObject({ reason: 'reconnect', recovered: false })
      expect(receiver.listener.states).toEqual(['connected', 'disconnected', 'connected'])
      await sender.subscription.publish(bytes('after'))
      await waitFor(() => receiver.listener.texts().includes('after'), { message: 'a frame after the gap' })
    })

    it('does not close a client it was given', async () => {
      const { client, backplane } = await connected(randomKey('cacheplane:chan'))
      await backplane.close()
      expect(await client.ping()).toBe('PONG')
    })

    it('works from connection options and closes what it opened', async () => {
      const channel = randomKey('cacheplane:chan')
      const owned = redisBackplane({ ...topology.options(), sharded })
      const listener = new RecordingListener()
      const subscription = owned.connect(channel, listener)
      await subscription.ready
      const peer = await connected(channel)
      await subscription.publish(bytes('from owned'))
      await waitFor(() => peer.listener.texts().includes('from owned'), {
        message: 'frame from the owned client',
      })
      await owned.close()
      await expect(subscription.publish(bytes('closed'))).rejects.toThrow()
    })
  },
)

describe('redisBackplane failures and options', () => {
  it('rejects publish fast when Redis is unreachable', async () => {
    const port = await freePort()
    const backplane = redisBackplane({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 500 })
    const listener = new RecordingListener()
    const subscription = backplane.connect('cacheplane:down', listener)
    await expect(subscription.ready).rejects.toThrow()
    const started = Date.now()
    await expect(subscription.publish(bytes('x'))).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(5_000)
    await backplane.close()
  })

  it('keeps trying after a failed first connect and reports the late subscription as a gap', async () => {
    const url = new URL(standalone.options().url ?? '')
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) })
    proxy.cut()
    const options = { url: `redis://127.0.0.1:${proxy.port}`, commandTimeoutMs: 500 }
    const late = redisBackplane(options)
    const peer = redisBackplane({ url: standalone.options().url ?? '' })
    const listener = new RecordingListener()
    try {
      await expect(late.connect('cacheplane:late', listener).ready).rejects.toThrow()
      const sender = peer.connect('cacheplane:late', new RecordingListener())
      await sender.ready
      proxy.heal()
      await waitFor(() => listener.gaps.length === 1, { timeoutMs: 10_000, message: 'the late subscription' })
      expect(listener.gaps[0]).toMatchObject({ reason: 'reconnect', recovered: false })
      expect(listener.states).toEqual(['connected'])
      await sender.publish(bytes('hello'))
      await waitFor(() => listener.texts().includes('hello'), { message: 'a frame on the late subscription' })
    } finally {
      await late.close()
      await peer.close()
      await proxy.close()
    }
  })

  it('leaves no timer behind after close (an application that closes its cache can exit at once)', async () => {
    const count = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length
    const [sockets, timers] = [count('TCPSocketWrap'), count('Timeout')]
    const backplane = redisBackplane({ url: standalone.options().url ?? '' })
    await backplane.connect('cacheplane:exit', new RecordingListener()).ready
    await backplane.close()
    await waitFor(() => count('TCPSocketWrap') <= sockets, { message: 'the connections to close' })
    await new Promise((resolve) => setImmediate(resolve))
    // ioredis arms a 2 s socket-destroy timer on disconnect(); a QUIT-ed connection must not get one.
    expect(count('Timeout')).toBeLessThanOrEqual(timers)
  })

  it('validates its options', () => {
    expect(() => redisBackplane({})).toThrow(InvalidOptionsError)
    expect(() => redisBackplane({ url: 'redis://127.0.0.1:1', sharded: 'yes' as never })).toThrow(
      InvalidOptionsError,
    )
    const backplane = redisBackplane({ redis: { lazyConnect: true } })
    expect(backplane.capabilities.replay).toBe(false)
    expect(backplane.capabilities.multiplex).toBe(true)
    expect(backplane.capabilities.maxFrameBytes).toBeGreaterThan(1024 * 1024)
  })
})
