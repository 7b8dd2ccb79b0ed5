import { waitFor } from '@cacheplane/core/testing'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { startTcpProxy, type TcpProxy } from '@cacheplane/test-servers'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { natsBackplane, type NatsReplayOptions } from '../src/index.js'
import { channelSubject, defaultStreamName } from '../src/subject.js'
import { frame, type Recorder, recorder } from './recorder.js'

const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

function channelName(): string {
  return `replay-${Math.random().toString(16).slice(2)}`
}

async function proxyToServer(): Promise<TcpProxy> {
  const url = new URL(inject('natsUrl').split(',')[0] ?? '')
  const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 4222) })
  closers.push(() => proxy.close())
  return proxy
}

/** A writer on the server and a reader behind a proxy that the test can cut, both in replay mode. */
async function pair(replay: NatsReplayOptions) {
  const proxy = await proxyToServer()
  const channel = channelName()
  const writerBackplane = natsBackplane({ servers: inject('natsUrl'), replay })
  const reader = natsBackplane({
    servers: `nats://${proxy.host}:${proxy.port}`,
    connectOptions: { reconnectTimeWait: 50 },
    replay,
  })
  closers.push(
    () => writerBackplane.close(),
    () => reader.close(),
  )
  const writes = recorder()
  const reads = recorder()
  const writer = writerBackplane.connect(channel, writes)
  await writer.ready
  await reader.connect(channel, reads).ready
  return { proxy, channel, writer, writerBackplane, reader, reads }
}

async function cutAndWait(proxy: TcpProxy, reads: Recorder): Promise<void> {
  proxy.cut()
  await waitFor(() => reads.states.includes('disconnected'), { message: 'the reader to see the cut' })
}

describe('natsBackplane replay (JetStream)', () => {
  it('replays exactly the frames missed during a disconnect, then reports a recovered gap', async () => {
    const { proxy, writer, writerBackplane, reads } = await pair({ maxAgeMs: 60_000, storage: 'memory' })
    expect(writerBackplane.capabilities.replay).toBe(true)
    await writer.publish(frame('before'))
    await waitFor(() => reads.frames.includes('before'))
    await cutAndWait(proxy, reads)
    for (let i = 1; i <= 5; i++) await writer.publish(frame(`missed-${i}`))
    proxy.heal()
    await waitFor(() => reads.gaps.length === 1, { timeoutMs: 15_000, message: 'a gap after the heal' })
    expect(reads.gaps[0]).toMatchObject({ reason: 'reconnect', recovered: true })
    // Every missed frame, once, in order, before the gap that says they were all delivered.
    expect(reads.log).toEqual([
      'frame:before',
      'state:disconnected',
      'state:connected',
      'frame:missed-1',
      'frame:missed-2',
      'frame:missed-3',
      'frame:missed-4',
      'frame:missed-5',
      'gap:reconnect:true',
    ])
    await writer.publish(frame('after'))
    await waitFor(() => reads.frames.includes('after'))
    expect(reads.frames.filter((f) => f === 'after')).toHaveLength(1)
  })

  it('reports an unrecovered gap when the missed frames outlived the stream retention', async () => {
    const { proxy, channel, writer, reads } = await pair({ maxAgeMs: 1_000, storage: 'memory' })
    await cutAndWait(proxy, reads)
    for (let i = 1; i <= 3; i++) await writer.publish(frame(`expired-${i}`))
    const jsm = await manager()
    const stream = defaultStreamName(channelSubject('cacheplane.', channel))
    await waitFor(async () => (await jsm.streams.info(stream)).state.messages === 0, {
      timeoutMs: 10_000,
      message: 'the stream to drop the frames (max age 1 s)',
    })
    proxy.heal()
    await waitFor(() => reads.gaps.length === 1, { timeoutMs: 15_000, message: 'a gap after the heal' })
    expect(reads.gaps[0]).toMatchObject({ reason: 'retention-exceeded', recovered: false })
    expect(reads.frames.filter((f) => f.startsWith('expired-'))).toEqual([])
    await writer.publish(frame('after'))
    await waitFor(() => reads.frames.includes('after'), { message: 'live frames after the gap' })
  })

  it('recreates a stream deleted while an instance was away, and reports it as unrecovered', async () => {
    const { proxy, channel, writer, reads } = await pair({ maxAgeMs: 60_000, storage: 'memory' })
    await cutAndWait(proxy, reads)
    const jsm = await manager()
    await jsm.streams.delete(defaultStreamName(channelSubject('cacheplane.', channel)))
    // The writer's first publish finds no stream and fails (core would retry), and that failure
    // recreates the stream; unless the writer's own consumer heard of the deletion first and
    // recreated it already, and then the publish lands. Both orders are right; either way the
    // stream comes back, which the retries below wait for.
    await writer.publish(frame('orphan')).catch(() => {})
    await waitFor(
      () =>
        writer.publish(frame('retried')).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 10_000, message: 'a publish to succeed once the stream is recreated' },
    )
    proxy.heal()
    await waitFor(() => reads.gaps.length === 1, { timeoutMs: 15_000, message: 'a gap after the heal' })
    expect(reads.gaps[0]).toMatchObject({ reason: 'stream-missing', recovered: false })
    await writer.publish(frame('after'))
    await waitFor(() => reads.frames.includes('after'), { message: 'live frames after the gap' })
  })

  it('follows a stream deleted under live connections: writers recreate it, readers resubscribe and report it', async () => {
    const { channel, writer, reads } = await pair({ maxAgeMs: 60_000, storage: 'memory' })
    const jsm = await manager()
    await jsm.streams.delete(defaultStreamName(channelSubject('cacheplane.', channel)))
    await waitFor(() => reads.gaps.length === 1, {
      timeoutMs: 10_000,
      message: 'the reader to notice the deletion',
    })
    expect(reads.gaps[0]).toMatchObject({ reason: 'stream-missing', recovered: false })
    await waitFor(
      () =>
        writer.publish(frame('after')).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 10_000, message: 'a publish to succeed on the recreated stream' },
    )
    await waitFor(() => reads.frames.includes('after'), { message: 'frames on the recreated stream' })
  })

  it('resumes from its last sequence when its consumer is deleted under a live connection', async () => {
    const { channel, writer, reads } = await pair({ maxAgeMs: 60_000, storage: 'memory' })
    const stream = defaultStreamName(channelSubject('cacheplane.', channel))
    const jsm = await manager()
    await writer.publish(frame('before'))
    await waitFor(() => reads.frames.includes('before'))
    const consumers = await jsm.consumers.list(stream).next()
    expect(consumers.length).toBe(2)
    for (const consumer of consumers) await jsm.consumers.delete(stream, consumer.name)
    await waitFor(() => reads.gaps.length === 1, { timeoutMs: 10_000, message: 'the reader to resync' })
    expect(reads.gaps[0]).toMatchObject({ reason: 'consumer-lost', recovered: true })
    await writer.publish(frame('after'))
    await waitFor(() => reads.frames.includes('after'))
    expect(reads.frames).toEqual(['before', 'after'])
  })
})

async function manager() {
  const nc = await connect({ servers: inject('natsUrl') })
  closers.push(() => nc.close())
  return await jetstreamManager(nc)
}
