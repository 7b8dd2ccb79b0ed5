// Several caches (channels) on one natsBackplane: one NATS connection whatever their number,
// each channel routed to its own listener, a reconnect reported to every one of them, and
// with replay each channel keeping its own stream position.
import type { BackplaneSubscription } from '@cacheplane/core'
import { waitFor } from '@cacheplane/core/testing'
import { startTcpProxy } from '@cacheplane/test-servers'
import { connect } from '@nats-io/transport-node'
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { natsBackplane } from '../src/index.js'
import { frame, type Recorder, recorder } from './recorder.js'

const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length

const closers: (() => Promise<unknown>)[] = []
let baseline = 0
beforeAll(() => {
  baseline = sockets()
})
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  // Closed sockets leave the process's resources a moment later: counts start from a clean slate.
  await waitFor(() => sockets() <= baseline, { message: 'the connections of the last test to close' })
})
const channels = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `shared-${i}-${Math.random().toString(16).slice(2)}`)

/** Subscribes every channel on `backplane`; resolves once all are live. */
async function subscribeAll(
  backplane: ReturnType<typeof natsBackplane>,
  names: readonly string[],
): Promise<{ subscriptions: BackplaneSubscription[]; recorders: Recorder[] }> {
  const recorders = names.map(() => recorder())
  const subscriptions = names.map((name, i) => backplane.connect(name, recorders[i] as Recorder))
  await Promise.all(subscriptions.map((subscription) => subscription.ready))
  return { subscriptions, recorders }
}

describe.each([
  { mode: 'plain', replay: undefined },
  { mode: 'replay', replay: { maxAgeMs: 60_000, storage: 'memory' as const } },
])('one natsBackplane shared by several caches ($mode)', ({ replay }) => {
  it('uses one connection for 1 or 20 channels and routes each frame to its channel only', async () => {
    const before = sockets()
    const shared = natsBackplane({ servers: inject('natsUrl'), ...(replay ? { replay } : {}) })
    closers.push(() => shared.close())
    const names = channels(20)
    const first = await subscribeAll(shared, names.slice(0, 1))
    expect(sockets() - before).toBe(1)
    const rest = await subscribeAll(shared, names.slice(1))
    expect(sockets() - before).toBe(1)
    const other = natsBackplane({ servers: inject('natsUrl'), ...(replay ? { replay } : {}) })
    closers.push(() => other.close())
    const senders = await subscribeAll(other, names.slice(0, 3))
    for (const [i, sender] of senders.subscriptions.entries()) await sender.publish(frame(`to ${i}`))
    const heard = [...first.recorders, ...rest.recorders]
    await waitFor(() => heard.slice(0, 3).every((r) => r.frames.length === 1), { message: 'each frame' })
    expect(heard.slice(0, 3).map((r) => r.frames)).toEqual([['to 0'], ['to 1'], ['to 2']])
    expect(heard.slice(3).every((r) => r.frames.length === 0)).toBe(true)
  })

  it('closing one subscription leaves the others subscribed; the connection closes with the last', async () => {
    const before = sockets()
    const shared = natsBackplane({ servers: inject('natsUrl'), ...(replay ? { replay } : {}) })
    closers.push(() => shared.close())
    const names = channels(2)
    const { subscriptions, recorders } = await subscribeAll(shared, names)
    const sender = natsBackplane({ servers: inject('natsUrl'), ...(replay ? { replay } : {}) })
    closers.push(() => sender.close())
    const out = await subscribeAll(sender, names)
    await subscriptions[0]?.close()
    await out.subscriptions[0]?.publish(frame('to the closed one'))
    await out.subscriptions[1]?.publish(frame('to the open one'))
    await waitFor(() => recorders[1]?.frames.includes('to the open one') === true)
    await waitFor(() => out.recorders[0]?.frames.includes('to the closed one') === true)
    expect(recorders[0]?.frames).toEqual([])
    await subscriptions[1]?.close()
    await waitFor(() => sockets() - before === 1, { message: "only the sender's connection left" })
  })
})

describe('a reconnect of the shared connection', () => {
  it('is a gap for every channel on it (plain)', async () => {
    const nc = await connect({ servers: inject('natsUrl') })
    closers.push(() => nc.close())
    const shared = natsBackplane({ client: nc })
    closers.push(() => shared.close())
    const { recorders } = await subscribeAll(shared, channels(3))
    await nc.reconnect()
    await waitFor(() => recorders.every((r) => r.gaps.length === 1), { message: 'a gap on every channel' })
    expect(recorders.map((r) => r.gaps[0]?.recovered)).toEqual([false, false, false])
  })

  it('replays what each channel missed from its own position (replay)', async () => {
    const url = new URL(inject('natsUrl').split(',')[0] ?? '')
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 4222) })
    closers.push(() => proxy.close())
    const replay = { maxAgeMs: 60_000, storage: 'memory' as const }
    const reader = natsBackplane({
      servers: `nats://${proxy.host}:${proxy.port}`,
      connectOptions: { reconnectTimeWait: 50 },
      replay,
    })
    const writer = natsBackplane({ servers: inject('natsUrl'), replay })
    closers.push(
      () => reader.close(),
      () => writer.close(),
    )
    const names = channels(3)
    const { recorders } = await subscribeAll(reader, names)
    const { subscriptions } = await subscribeAll(writer, names)
    // Different amounts of traffic per channel before the cut: their positions differ.
    for (const [i, subscription] of subscriptions.entries())
      for (let n = 0; n <= i; n++) await subscription.publish(frame(`before ${i}.${n}`))
    await waitFor(() => recorders.every((r, i) => r.frames.length === i + 1), { message: 'frames before' })
    proxy.cut()
    await waitFor(() => recorders.every((r) => r.states.includes('disconnected')), { message: 'the cut' })
    for (const [i, subscription] of subscriptions.entries()) await subscription.publish(frame(`missed ${i}`))
    proxy.heal()
    await waitFor(() => recorders.every((r) => r.gaps.length === 1), {
      timeoutMs: 15_000,
      message: 'a gap on every channel after the heal',
    })
    for (const [i, r] of recorders.entries()) {
      expect(r.gaps[0]).toMatchObject({ recovered: true })
      expect(r.frames.at(-1)).toBe(`missed ${i}`)
      expect(r.frames).toHaveLength(i + 2)
    }
  })
})
