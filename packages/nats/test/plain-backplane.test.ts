import { waitFor } from '@cacheplane/core/testing'
import { connect } from '@nats-io/transport-node'
import { startOwnNats } from '@cacheplane/test-servers'
import { errors } from '@cacheplane/core'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { natsBackplane } from '../src/index.js'
import { frame, recorder } from './recorder.js'

const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

function channelName(): string {
  return `plain-${Math.random().toString(16).slice(2)}`
}

describe('natsBackplane (core NATS)', () => {
  it('delivers frames between instances on the same channel, and to the sender too', async () => {
    const url = inject('natsUrl')
    const channel = channelName()
    const a = natsBackplane({ servers: url })
    const b = natsBackplane({ servers: url })
    closers.push(
      () => a.close(),
      () => b.close(),
    )
    const ra = recorder()
    const rb = recorder()
    const sa = a.connect(channel, ra)
    const sb = b.connect(channel, rb)
    await Promise.all([sa.ready, sb.ready])
    await sa.publish(frame('one'))
    await sb.publish(frame('two'))
    await waitFor(() => rb.frames.length === 2 && ra.frames.length === 2)
    expect(rb.frames).toEqual(['one', 'two'])
    expect(ra.frames).toEqual(['one', 'two'])
    expect(a.capabilities.replay).toBe(false)
    expect(a.capabilities.maxFrameBytes).toBeGreaterThan(0)
  })

  it('reports a reconnect gap and refuses publishes while the server is down', async () => {
    const server = await startOwnNats({ jetstream: false })
    closers.push(() => server.stop())
    const bp = natsBackplane({ servers: server.url, connectOptions: { reconnectTimeWait: 50 } })
    closers.push(() => bp.close())
    const r = recorder()
    const subscription = bp.connect(channelName(), r)
    await subscription.ready
    await server.kill()
    await waitFor(() => r.states.includes('disconnected'), { message: 'disconnected state' })
    await expect(subscription.publish(frame('lost'))).rejects.toThrow(/not connected/)
    await server.restart()
    await waitFor(() => r.gaps.length === 1, { timeoutMs: 15_000, message: 'a gap after the restart' })
    expect(r.gaps[0]).toMatchObject({ reason: 'reconnect', recovered: false })
    expect(r.states).toEqual(['disconnected', 'connected'])
    await subscription.publish(frame('after'))
    await waitFor(() => r.frames.includes('after'))
  })

  it('never closes a connection it was given', async () => {
    const nc = await connect({ servers: inject('natsUrl') })
    closers.push(() => nc.close())
    const bp = natsBackplane({ client: nc })
    const r = recorder()
    const subscription = bp.connect(channelName(), r)
    await subscription.ready
    await subscription.publish(frame('x'))
    await waitFor(() => r.frames.length === 1)
    await bp.close()
    expect(nc.isClosed()).toBe(false)
  })

  it('keeps trying when no server answers at startup, and connects once one does', async () => {
    const server = await startOwnNats({ jetstream: false })
    closers.push(() => server.stop())
    await server.kill()
    const bp = natsBackplane({ servers: server.url })
    closers.push(() => bp.close())
    const r = recorder()
    const connecting = bp.connect(channelName(), r)
    await waitFor(() => r.states.includes('disconnected'), {
      message: 'a disconnected state while no server answers',
    })
    await server.restart()
    await connecting.ready
    expect(r.states).toEqual(['disconnected', 'connected'])
    await connecting.publish(frame('late'))
    await waitFor(() => r.frames.includes('late'))
  })

  it('gives up connecting when closed meanwhile', async () => {
    const server = await startOwnNats({ jetstream: false })
    closers.push(() => server.stop())
    await server.kill()
    const bp = natsBackplane({ servers: server.url })
    const r = recorder()
    const connecting = bp.connect(channelName(), r)
    await waitFor(() => r.states.includes('disconnected'))
    await bp.close()
    await expect(connecting.ready).rejects.toThrow(errors.E_CLOSED)
  })
})
