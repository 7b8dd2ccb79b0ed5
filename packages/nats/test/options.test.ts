import { errors } from '@cacheplane/core'
import { waitFor } from '@cacheplane/core/testing'
import { connect as connectV2 } from 'nats'
import { startOwnNats } from '@cacheplane/test-servers'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { natsBackplane } from '../src/index.js'
import { channelSubject, defaultStreamName } from '../src/subject.js'
import { frame, recorder } from './recorder.js'

const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

describe('subjects and stream names', () => {
  it('escape a channel into one literal subject token, injectively', () => {
    expect(channelSubject('cacheplane.', 'users')).toBe('cacheplane.users')
    expect(channelSubject('cacheplane.', 'cacheplane:users')).toBe('cacheplane.cacheplane%3Ausers')
    expect(channelSubject('app.', 'a.b *>x é')).toBe('app.a%2Eb%20%2A%3Ex%20%C3%A9')
    const channels = ['a.b', 'a%2Eb', 'a_b', 'a-b', 'a b', 'a%b', 'ab']
    const subjects = new Set(channels.map((channel) => channelSubject('p.', channel)))
    expect(subjects.size).toBe(channels.length)
    const streams = new Set([...subjects].map(defaultStreamName))
    expect(streams.size).toBe(channels.length)
    for (const stream of streams) expect(stream).toMatch(/^[A-Za-z0-9_-]+$/)
  })

  it('reject an empty channel', () => {
    expect(() => channelSubject('p.', '')).toThrow(errors.E_INVALID_OPTIONS)
  })
})

describe('natsBackplane options', () => {
  it.each([
    ['neither client nor servers', {}],
    ['both a client and servers', { client: {}, servers: 'nats://127.0.0.1:1' }],
    ['an empty server list', { servers: [] }],
    ['a subject prefix with a wildcard', { servers: 'nats://127.0.0.1:1', prefix: 'a.*.' }],
    ['a subject prefix with an empty token', { servers: 'nats://127.0.0.1:1', prefix: 'a..' }],
    ['a subject prefix with a space', { servers: 'nats://127.0.0.1:1', prefix: 'a b.' }],
  ])('rejects %s with InvalidOptionsError', (_, options) => {
    expect(() => natsBackplane(options as never)).toThrow(errors.E_INVALID_OPTIONS)
  })

  it.each([
    ['a non-positive maxAgeMs', { maxAgeMs: 0 }],
    ['a fractional maxAgeMs', { maxAgeMs: 1.5 }],
    ['an unknown storage', { maxAgeMs: 1000, storage: 'disk' }],
    ['zero replicas', { maxAgeMs: 1000, replicas: 0 }],
    ['a stream name with a dot', { maxAgeMs: 1000, stream: 'a.b' }],
  ])('rejects replay with %s', (_, replay) => {
    expect(() => natsBackplane({ servers: inject('natsUrl'), replay: replay as never })).toThrow(
      errors.E_INVALID_OPTIONS,
    )
  })

  it('fails connect() with the server error when JetStream is not enabled, and releases its connection', async () => {
    const server = await startOwnNats({ jetstream: false })
    closers.push(() => server.stop())
    const bp = natsBackplane({ servers: server.url, replay: { maxAgeMs: 1000 } })
    await expect(bp.connect('channel', recorder()).ready).rejects.toThrow(/jetstream/i)
    await bp.close()
  })

  it('refuses an empty channel, and any call after close()', async () => {
    const bp = natsBackplane({ servers: inject('natsUrl') })
    const subscription = bp.connect(`options-${Math.random()}`, recorder())
    await subscription.ready
    expect(() => bp.connect('', recorder())).toThrow(errors.E_INVALID_OPTIONS)
    await bp.close()
    await bp.close()
    await expect(subscription.publish(frame('x'))).rejects.toThrow(errors.E_CLOSED)
    expect(() => bp.connect('again', recorder())).toThrow(errors.E_CLOSED)
  })
})

describe('a connection from the older `nats` package (v2)', () => {
  it('carries frames and is left open on close()', async () => {
    const nc = await connectV2({ servers: inject('natsUrl') })
    closers.push(() => nc.close())
    const channel = `v2-${Math.random().toString(16).slice(2)}`
    const a = natsBackplane({ client: nc })
    const b = natsBackplane({ servers: inject('natsUrl') })
    closers.push(() => b.close())
    const ra = recorder()
    const rb = recorder()
    const sa = a.connect(channel, ra)
    const sb = b.connect(channel, rb)
    await Promise.all([sa.ready, sb.ready])
    await sa.publish(frame('from-v2'))
    await sb.publish(frame('from-v3'))
    await waitFor(() => ra.frames.length === 2 && rb.frames.length === 2)
    expect(ra.frames).toEqual(['from-v2', 'from-v3'])
    expect(a.capabilities.maxFrameBytes).toBe(nc.info?.max_payload)
    await a.close()
    expect(nc.isClosed()).toBe(false)
  })

  it('is refused for replay with a clear error', async () => {
    const nc = await connectV2({ servers: inject('natsUrl') })
    closers.push(() => nc.close())
    expect(() => natsBackplane({ client: nc, replay: { maxAgeMs: 1000 } })).toThrow(
      /@nats-io\/transport-node/,
    )
  })
})
