// Liveness of the NATS connection (issue 20): a silent connection (a partition that drops
// packets and leaves sockets open) is reported `suspect` within maxSilenceMs to every channel
// it carries; the client is made to reconnect, and the new subscriptions are followed by a gap.
import { type BackplaneSubscription, InvalidOptionsError } from '@cacheplane/core'
import { waitFor } from '@cacheplane/core/testing'
import { startTcpProxy } from '@cacheplane/test-servers'
import { connect } from '@nats-io/transport-node'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { natsBackplane } from '../src/index.js'
import type { NatsConnectionLike } from '../src/nats-connection.js'
import { frame, type Recorder, recorder } from './recorder.js'

const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

const channelName = () => `live-${Math.random().toString(16).slice(2)}`

/** One backplane through a proxy that can blackhole it, with one recorder per channel. */
async function throughProxy(maxSilenceMs: number, channels: readonly string[]) {
  const { hostname, port } = new URL(inject('natsUrl'))
  const proxy = await startTcpProxy({ host: hostname, port: Number(port) })
  closers.push(() => proxy.close())
  const bp = natsBackplane({
    servers: `nats://127.0.0.1:${proxy.port}`,
    maxSilenceMs,
    // A dial through the blackhole must give up quickly so the test sees the reconnect after healing.
    connectOptions: { reconnectTimeWait: 100, timeout: 1_000 },
  })
  closers.push(() => bp.close())
  const recorders = channels.map(() => recorder())
  const subscriptions = channels.map((channel, i) => bp.connect(channel, recorders[i] as Recorder))
  await Promise.all(subscriptions.map((subscription) => subscription.ready))
  return { proxy, subscriptions, recorders }
}

/** A backplane straight to the server, subscribed to `channel`, to publish from. */
async function peerOn(channel: string) {
  const peer = natsBackplane({ servers: inject('natsUrl') })
  closers.push(() => peer.close())
  const subscription = peer.connect(channel, recorder())
  await subscription.ready
  return subscription
}

/** The connection without its `reconnect()`, like a client that cannot reconnect on demand. */
function withoutReconnect(nc: NatsConnectionLike): NatsConnectionLike {
  return {
    get info() {
      return nc.info
    },
    publish: (subject, payload) => nc.publish(subject, payload),
    subscribe: (subject, options) => nc.subscribe(subject, options),
    flush: () => nc.flush(),
    status: () => nc.status(),
    getServer: () => nc.getServer(),
    isClosed: () => nc.isClosed(),
    close: () => nc.close(),
    closed: () => nc.closed(),
  }
}

describe('natsBackplane liveness', () => {
  it('reports a blackholed connection suspect within maxSilenceMs, then reconnects with a gap', async () => {
    const channel = channelName()
    const { proxy, subscriptions, recorders } = await throughProxy(400, [channel])
    const subscription = subscriptions[0] as BackplaneSubscription
    const r = recorders[0] as Recorder
    const peer = await peerOn(channel)
    proxy.blackhole()
    const cutAt = Date.now()
    await waitFor(() => r.states.includes('suspect'), { message: 'suspect', timeoutMs: 5_000 })
    // The bound, plus timer slack on a shared machine.
    expect(Date.now() - cutAt).toBeLessThanOrEqual(400 + 300)
    await expect(subscription.publish(frame('while silent'))).rejects.toThrow(/not connected/)
    await peer.publish(frame('lost'))
    proxy.heal()
    await waitFor(() => r.gaps.length >= 1 && r.states.at(-1) === 'connected', {
      message: 'a gap and the connected state after healing',
      timeoutMs: 20_000,
    })
    expect(r.gaps[0]).toMatchObject({ recovered: false })
    expect(r.states[0]).toBe('suspect')
    await peer.publish(frame('after'))
    await waitFor(() => r.frames.includes('after'), { message: 'a frame after healing' })
  })

  it('reports suspect and a gap to every channel of the silent shared connection', async () => {
    const channels = [channelName(), channelName()]
    const { proxy, subscriptions, recorders } = await throughProxy(400, channels)
    proxy.blackhole()
    await waitFor(() => recorders.every((r) => r.states.includes('suspect')), {
      message: 'suspect on every channel',
      timeoutMs: 5_000,
    })
    for (const subscription of subscriptions)
      await expect(subscription.publish(frame('while silent'))).rejects.toThrow(/not connected/)
    proxy.heal()
    await waitFor(() => recorders.every((r) => r.gaps.length >= 1 && r.states.at(-1) === 'connected'), {
      message: 'a gap and the connected state on every channel after healing',
      timeoutMs: 20_000,
    })
    for (const r of recorders) {
      expect(r.states[0]).toBe('suspect')
      expect(r.gaps[0]).toMatchObject({ recovered: false })
    }
    // Each channel's subscription is live again on the new connection.
    const peers = await Promise.all(channels.map((channel) => peerOn(channel)))
    await Promise.all(peers.map((peer, i) => peer.publish(frame(`after-${i}`))))
    await waitFor(() => recorders.every((r, i) => r.frames.includes(`after-${i}`)), {
      message: 'a frame on every channel after healing',
    })
  })

  it('without reconnect() on the connection, answers resuming make every channel connected with a silence gap', async () => {
    const { hostname, port } = new URL(inject('natsUrl'))
    const proxy = await startTcpProxy({ host: hostname, port: Number(port) })
    closers.push(() => proxy.close())
    const nc = await connect({ servers: `nats://127.0.0.1:${proxy.port}` })
    closers.push(() => nc.close())
    const bp = natsBackplane({ client: withoutReconnect(nc), maxSilenceMs: 400 })
    closers.push(() => bp.close())
    const recorders = [recorder(), recorder()]
    const subscriptions = recorders.map((r) => bp.connect(channelName(), r))
    await Promise.all(subscriptions.map((subscription) => subscription.ready))
    // Held, not lost: the same connection answers again once healed.
    proxy.stall()
    await waitFor(() => recorders.every((r) => r.states.includes('suspect')), {
      message: 'suspect on every channel',
      timeoutMs: 5_000,
    })
    proxy.heal()
    await waitFor(() => recorders.every((r) => r.gaps.length === 1), {
      message: 'a silence gap on every channel',
      timeoutMs: 5_000,
    })
    for (const r of recorders) {
      expect(r.log).toEqual(['state:suspect', 'state:connected', 'gap:silence:false'])
    }
  })

  it('a healthy connection is never suspect', async () => {
    const { recorders } = await throughProxy(200, [channelName(), channelName()])
    // A window in which nothing may happen: twelve probe periods.
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    for (const r of recorders) {
      expect(r.states).toEqual([])
      expect(r.gaps).toEqual([])
    }
  })

  it('declares its bound and validates it', () => {
    expect(natsBackplane({ servers: 'nats://127.0.0.1:1' }).capabilities.maxSilenceMs).toBe(1_500)
    expect(
      natsBackplane({ servers: 'nats://127.0.0.1:1', maxSilenceMs: 800 }).capabilities.maxSilenceMs,
    ).toBe(800)
    for (const bad of [0, 99, Number.POSITIVE_INFINITY]) {
      expect(() => natsBackplane({ servers: 'nats://127.0.0.1:1', maxSilenceMs: bad })).toThrow(
        InvalidOptionsError,
      )
    }
  })
})
