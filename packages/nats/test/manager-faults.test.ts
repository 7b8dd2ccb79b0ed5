import { randomKey, waitFor } from '@cacheplane/core/testing'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import {
  type RunningServer,
  startOwnNats,
  startNatsCluster,
  startTcpProxy,
  type TcpProxy,
} from '@cacheplane/test-servers'
import { afterEach, describe, expect, inject, it } from 'vitest'
import type { NatsReplayOptions } from '../src/index.js'
import { channelSubject, defaultStreamName } from '../src/subject.js'
import { gaps, holds, type Instance, instances, propagated } from './nats-managers.js'

const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

async function start(
  name: string,
  servers: (string | string[])[],
  replay?: NatsReplayOptions,
): Promise<Instance[]> {
  const started = await instances({ name, servers, ...(replay === undefined ? {} : { replay }) })
  closers.push(() => started.close())
  return started.all
}

/** A writes `value` to every key and B (which heard each write) then reads them into its memory layer. */
async function seed(a: Instance, b: Instance, all: string[], value: string): Promise<void> {
  for (const key of all) await propagated(b, () => a.cache.set(key, value))
  for (const key of all) expect(await b.cache.get(key)).toBe(value)
  for (const key of all) expect(await holds(b, key)).toBe(true)
}

const disconnected = (instance: Instance) =>
  instance.events.some((event) => event.type === 'state' && event.state === 'disconnected')

async function ownServer(): Promise<RunningServer> {
  const server = await startOwnNats({ jetstream: true })
  closers.push(() => server.stop())
  return server
}

async function proxyTo(server: { host: string; port: number }): Promise<TcpProxy> {
  const proxy = await startTcpProxy(server)
  closers.push(() => proxy.close())
  return proxy
}

function sharedServer(): { host: string; port: number; url: string } {
  const url = inject('natsUrl').split(',')[0] ?? ''
  const parsed = new URL(url)
  return { host: parsed.hostname, port: Number(parsed.port || 4222), url }
}

describe('a server restart during writes', () => {
  it('core NATS: the gap clears local copies, so nothing stale is read afterwards', async () => {
    const server = await ownServer()
    const [a, b] = (await start(randomKey('restart'), [server.url, server.url])) as [Instance, Instance]
    const all = keys('k', 10)
    await seed(a, b, all, 'v1')
    await server.kill()
    await waitFor(() => disconnected(b), { message: 'B to notice the server is gone' })
    // The shared store takes the writes; their invalidations cannot be published now (core retries them).
    for (const key of all) await a.cache.set(key, 'v2')
    await server.restart()
    await waitFor(() => gaps(b).length > 0, { timeoutMs: 15_000, message: 'a gap on B after the restart' })
    expect(gaps(b)[0]).toMatchObject({ gap: { reason: 'reconnect', recovered: false }, action: 'cleared' })
    for (const key of all) expect(await b.cache.get(key)).toBe('v2')
    // And the backplane works again.
    await propagated(b, () => a.cache.set('k0', 'v3'))
    expect(await b.cache.get('k0')).toBe('v3')
  })

  it('core NATS: writes that keep going through a kill and restart leave nothing stale on B', async () => {
    const server = await ownServer()
    const [a, b] = (await start(randomKey('restart'), [server.url, server.url])) as [Instance, Instance]
    const all = keys('k', 5)
    await seed(a, b, all, 'v0')
    const latest = new Map(all.map((key) => [key, 'v0']))
    let writing = true
    let round = 0
    const writer = (async () => {
      while (writing) {
        round++
        for (const key of all) {
          await a.cache.set(key, `v${round}`)
          latest.set(key, `v${round}`)
          // B keeps reading meanwhile, so its memory layer is repopulated between invalidations.
          await b.cache.get(key)
        }
        // The handles answer in microtasks: let timers, sockets and the other waits run.
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    await waitFor(() => round >= 3, { message: 'a few rounds of writes before the kill' })
    await server.kill()
    await waitFor(() => disconnected(b), { message: 'B to notice the server is gone' })
    const roundAtKill = round
    await waitFor(() => round >= roundAtKill + 2, { message: 'writes to go on while the server is down' })
    await server.restart()
    await waitFor(() => gaps(b).length > 0, { timeoutMs: 15_000, message: 'a gap on B after the restart' })
    expect(gaps(b)[0]).toMatchObject({ gap: { recovered: false }, action: 'cleared' })
    writing = false
    await writer
    // Frames of one publisher arrive in order: once B heard this marker, it heard every write before it.
    await propagated(b, () => a.cache.set('marker', 1))
    for (const key of all) expect(await b.cache.get(key)).toBe(latest.get(key))
  })

  it('replay with file storage: the stream survives, and the retried invalidations reach B', async () => {
    const server = await ownServer()
    const replay = { maxAgeMs: 60_000, storage: 'file' } as const
    const [a, b] = (await start(randomKey('restart'), [server.url, server.url], replay)) as [
      Instance,
      Instance,
    ]
    const all = keys('k', 10)
    await seed(a, b, all, 'v1')
    await server.restart()
    for (const key of all) await a.cache.set(key, 'v2')
    await waitFor(() => gaps(b).length > 0, { timeoutMs: 15_000, message: 'a gap on B after the restart' })
    expect(gaps(b)[0]?.gap.reason).toMatch(/^(reconnect|failover)$/)
    await waitFor(
      async () => (await Promise.all(all.map((key) => b.cache.get(key)))).every((v) => v === 'v2'),
      {
        timeoutMs: 15_000,
        message: 'every key on B to read v2',
      },
    )
  })
})

describe('replay after a disconnect', () => {
  const replay = { maxAgeMs: 60_000, storage: 'memory' } as const

  it('evicts exactly the keys written while B was away and keeps its other local entries', async () => {
    const server = sharedServer()
    const proxy = await proxyTo(server)
    const name = randomKey('replay')
    const [a, b] = (await start(name, [server.url, `nats://${proxy.host}:${proxy.port}`], replay)) as [
      Instance,
      Instance,
    ]
    const changed = keys('changed-', 8)
    const kept = keys('kept-', 8)
    await seed(a, b, [...changed, ...kept], 'v1')
    proxy.cut()
    await waitFor(() => disconnected(b), { message: 'B to notice the cut' })
    const heardBefore = b.remote.length
    for (const key of changed) await a.cache.set(key, 'v2')
    proxy.heal()
    await waitFor(() => gaps(b).length > 0, { timeoutMs: 15_000, message: 'a gap on B after the heal' })
    expect(gaps(b)).toHaveLength(1)
    expect(gaps(b)[0]).toMatchObject({ gap: { reason: 'reconnect', recovered: true }, action: 'kept' })
    // Each missed write was replayed once, before the gap was reported.
    expect(b.remote.slice(heardBefore)).toEqual(changed.map((key) => `set:undefined:${key}`))
    for (const key of kept) expect(await holds(b, key)).toBe(true)
    for (const key of changed) expect(await holds(b, key)).toBe(false)
    for (const key of changed) expect(await b.cache.get(key)).toBe('v2')
    for (const key of kept) expect(await b.cache.get(key)).toBe('v1')
  })

  it('clears every local entry when the missed writes outlived the stream retention', async () => {
    const server = sharedServer()
    const proxy = await proxyTo(server)
    const name = randomKey('retention')
    const [a, b] = (await start(name, [server.url, `nats://${proxy.host}:${proxy.port}`], {
      maxAgeMs: 1_000,
      storage: 'memory',
    })) as [Instance, Instance]
    const changed = keys('changed-', 4)
    const kept = keys('kept-', 4)
    await seed(a, b, [...changed, ...kept], 'v1')
    proxy.cut()
    await waitFor(() => disconnected(b), { message: 'B to notice the cut' })
    for (const key of changed) await a.cache.set(key, 'v2')
    const nc = await connect({ servers: server.url })
    closers.push(() => nc.close())
    const jsm = await jetstreamManager(nc)
    const stream = defaultStreamName(channelSubject('cacheplane.', `cacheplane:${name}`))
    await waitFor(async () => (await jsm.streams.info(stream)).state.messages === 0, {
      timeoutMs: 10_000,
      message: `stream ${stream} to drop the missed frames (max age 1 s)`,
    })
    proxy.heal()
    await waitFor(() => gaps(b).length > 0, { timeoutMs: 15_000, message: 'a gap on B after the heal' })
    expect(gaps(b)[0]).toMatchObject({
      gap: { reason: 'retention-exceeded', recovered: false },
      action: 'cleared',
    })
    for (const key of [...changed, ...kept]) expect(await holds(b, key)).toBe(false)
    for (const key of changed) expect(await b.cache.get(key)).toBe('v2')
    for (const key of kept) expect(await b.cache.get(key)).toBe('v1')
  })
})

/**
 * B's subscription reaches A's node over a route some time after B subscribed; frames
 * published there before that are not delivered (core NATS behaviour). Writes a probe
 * until B hears one.
 */
async function interestReached(a: Instance, b: Instance): Promise<void> {
  const heard = b.remote.length
  let probe = 0
  await waitFor(
    async () => {
      await a.cache.set('probe', probe++)
      return b.remote.length > heard
    },
    { message: "B's subscription to reach A's node" },
  )
}

describe('a 3-node cluster', () => {
  it('fails over when the node B talks to dies, reports the gap, and serves nothing stale', async () => {
    const cluster = await startNatsCluster({ size: 3, jetstream: false })
    closers.push(() => cluster.stop())
    const [url0, , url2] = cluster.urls as [string, string, string]
    const [a, b] = (await start(randomKey('failover'), [url2, url0])) as [Instance, Instance]
    await interestReached(a, b)
    const all = keys('k', 6)
    await seed(a, b, all, 'v1')
    await cluster.nodes[0]?.kill()
    await waitFor(() => disconnected(b), { message: 'B to lose its node' })
    for (const key of all) await a.cache.set(key, 'v2')
    await waitFor(() => gaps(b).length > 0, { timeoutMs: 15_000, message: 'B to fail over to another node' })
    expect(gaps(b)[0]).toMatchObject({ gap: { reason: 'failover', recovered: false }, action: 'cleared' })
    for (const key of all) expect(await b.cache.get(key)).toBe('v2')
    // B resubscribed on its new node; that interest travels to A's node the same way.
    await interestReached(a, b)
    await propagated(b, () => a.cache.set('k0', 'v3'))
    expect(await b.cache.get('k0')).toBe('v3')
  })

  it('with JetStream replay (R3 stream): fails over, replays what it missed, keeps the rest', async () => {
    const cluster = await startNatsCluster({ size: 3, jetstream: true })
    closers.push(() => cluster.stop())
    const [url0, , url2] = cluster.urls as [string, string, string]
    // The node that died may have led the JetStream meta group or the stream: requests time
    // out until new leaders are elected, so the replay gets a generous budget.
    const replay = { maxAgeMs: 60_000, storage: 'file', replicas: 3, timeoutMs: 40_000 } as const
    const [a, b] = (await start(randomKey('failover'), [url2, url0], replay)) as [Instance, Instance]
    const changed = keys('changed-', 6)
    const kept = keys('kept-', 6)
    await seed(a, b, [...changed, ...kept], 'v1')
    await cluster.nodes[0]?.kill()
    await waitFor(() => disconnected(b), { message: 'B to lose its node' })
    const heardBefore = b.remote.length
    // A's publishes may fail while the cluster elects new leaders; core retries them.
    for (const key of changed) await a.cache.set(key, 'v2')
    await waitFor(() => gaps(b).length > 0, { timeoutMs: 45_000, message: 'B to fail over and replay' })
    expect(gaps(b)[0]).toMatchObject({ gap: { reason: 'failover', recovered: true }, action: 'kept' })
    // A consumer lost with the node may add another resync; none of them may clear.
    expect(gaps(b).map((event) => event.action)).not.toContain('cleared')
    for (const key of kept) expect(await holds(b, key)).toBe(true)
    await waitFor(() => b.remote.length - heardBefore >= changed.length, {
      timeoutMs: 15_000,
      message: 'every write made during the failover to reach B',
    })
    expect(new Set(b.remote.slice(heardBefore))).toEqual(
      new Set(changed.map((key) => `set:undefined:${key}`)),
    )
    for (const key of changed) expect(await b.cache.get(key)).toBe('v2')
    for (const key of kept) expect(await holds(b, key)).toBe(true)
  }, 90_000)
})
