// Liveness of the NATS connection (issue 20): a silent connection (a partition that drops
// packets and leaves sockets open) is reported `suspect` within maxSilenceMs; the client is made
// to reconnect, and the new subscription is followed by a gap.
import { InvalidOptionsError } from '@cacheplane/core'
import { waitFor } from '@cacheplane/core/testing'
import { startTcpProxy } from '@cacheplane/test-servers'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { natsBackplane } from '../src/index.js'
import { frame, recorder } from './recorder.js'

const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

const channelName = () => `live-${Math.random().toString(16).slice(2)}`

async function throughProxy(maxSilenceMs: number, channel: string) {
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
  const r = recorder()
  await bp.connect(channel, r)
  return { proxy, bp, r }
}

describe('natsBackplane liveness', () => {
  it('reports a blackholed connection suspect within maxSilenceMs, then reconnects with a gap', async () => {
    const channel = channelName()
    const { proxy, bp, r } = await throughProxy(400, channel)
    const peer = natsBackplane({ servers: inject('natsUrl') })
    closers.push(() => peer.close())
    await peer.connect(channel, recorder())
    proxy.blackhole()
    const cutAt = Date.now()
    await waitFor(() => r.states.includes('suspect'), { message: 'suspect', timeoutMs: 5_000 })
    // The bound, plus timer slack on a shared machine.
    expect(Date.now() - cutAt).toBeLessThanOrEqual(400 + 300)
    await expect(bp.publish(frame('while silent'))).rejects.toThrow(/not connected/)
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

  it('a healthy connection is never suspect', async () => {
    const { r } = await throughProxy(200, channelName())
    // A window in which nothing may happen: twelve probe periods.
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    expect(r.states).toEqual([])
    expect(r.gaps).toEqual([])
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
