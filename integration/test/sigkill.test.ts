/**
 * A writer SIGKILLed right after its write. The source of truth has the write (a fresh process
 * reads it). If the frame announcing it was lost with the process, the other processes' memory
 * copies stay stale until `maxLocalTtlMs` (the cap on local lifetimes) expires them: that is the
 * bound on staleness, and they must converge within it.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { startTcpProxy } from '@cacheplane/test-servers'
import { describe, expect, it } from 'vitest'
import { addressOf } from '../src/addresses.js'
import { expectRemote, marks } from '../src/expect-events.js'
import { type Worker, WorkerPool } from '../src/harness.js'
import { slowSystem } from '../src/slow-system.js'
import type { BackplaneSpec, Topology } from '../src/worker/topology.js'
import { memcachedNatsTopology, redisTopology } from '../src/topologies.js'

const pool = new WorkerPool()
/** The cap on local lifetimes every process of these tests runs with, ms. */
const MAX_LOCAL_TTL_MS = 2_000

function viaProxy(backplane: BackplaneSpec, proxy: { host: string; port: number }): BackplaneSpec {
  const url = (scheme: string) => `${scheme}://${proxy.host}:${proxy.port}`
  if (backplane.kind === 'redis') return { kind: 'redis', url: url('redis') }
  if (backplane.kind === 'nats') return { ...backplane, servers: [url('nats')] }
  throw new Error(`no proxy for ${backplane.kind}`)
}

function backplaneAddress(backplane: BackplaneSpec) {
  if (backplane.kind === 'redis') return addressOf(backplane.url)
  if (backplane.kind === 'nats') return addressOf(backplane.servers[0] ?? '')
  throw new Error(`no address for ${backplane.kind}`)
}

/** Both readers hold version 1 in memory; returns when each copy was made at the latest. */
async function warm(readers: Worker[], key: string, from: number[]): Promise<number[]> {
  // The write's own frame must have arrived first, or it would evict the copy made below.
  await expectRemote(readers, from, 'set', { key })
  const cachedBy: number[] = []
  for (const r of readers) {
    await waitFor(async () => (await r.call({ op: 'get', key }))?.level === 0, {
      ...slowSystem,
      message: `${r.name} to hold a copy`,
    })
    cachedBy.push(Date.now())
    expect(await r.call({ op: 'get', key })).toMatchObject({ value: { v: 1 }, level: 0 })
  }
  return cachedBy
}

/** Every reader reads version 2 before its copy's cap expires (plus polling and IPC slack). */
async function convergeWithinCap(readers: Worker[], key: string, cachedBy: number[]): Promise<void> {
  await Promise.all(
    readers.map(async (r, i) => {
      const deadline = (cachedBy[i] ?? 0) + MAX_LOCAL_TTL_MS + 500
      await waitFor(async () => (await r.call({ op: 'get', key }))?.value.v === 2, {
        ...slowSystem,
        timeoutMs: Math.max(deadline - Date.now(), 1),
        intervalMs: 20,
        message: `${r.name} to read the killed writer's value within maxLocalTtlMs`,
      })
    }),
  )
}

describe.each([redisTopology(), memcachedNatsTopology()])('$label', (topology: Topology) => {
  it('writer SIGKILLed right after its write: the others converge, at the latest when maxLocalTtlMs expires their copies', async () => {
    const spec = { cacheName: randomKey('kill'), topology, maxLocalTtlMs: MAX_LOCAL_TTL_MS }
    const [writer, ...readers] = await pool.spawnMany(3, spec)
    if (writer === undefined) throw new Error('workers')
    const key = randomKey('k')
    const before = marks(readers)
    await writer.call({ op: 'set', key, value: { v: 1, by: writer.name } })
    const cachedBy = await warm(readers, key, before)
    await writer.call({ op: 'setThenDie', key, value: { v: 2, by: writer.name } })
    expect((await writer.exited).signal).toBe('SIGKILL')
    const fresh = await pool.spawn({ ...spec, workerId: 'fresh' })
    expect((await fresh.call({ op: 'get', key }))?.value.v).toBe(2)
    await convergeWithinCap(readers, key, cachedBy)
    const heard = readers.filter((r) =>
      r.events.some(
        (e) => e.origin === 'remote' && e.name === 'set' && e.key === key && e.at > (cachedBy[0] ?? 0),
      ),
    )
    console.log(
      `${topology.label}: the killed writer's frame reached ${heard.length} of ${readers.length} readers`,
    )
  })

  it('writer SIGKILLed with its frame certainly lost (its backplane link stalled): staleness ends at maxLocalTtlMs', async () => {
    const backplane = topology.backplane as BackplaneSpec
    const proxy = await startTcpProxy(backplaneAddress(backplane))
    try {
      const spec = { cacheName: randomKey('lost'), topology, maxLocalTtlMs: MAX_LOCAL_TTL_MS }
      const readers = await pool.spawnMany(2, spec)
      const writer = await pool.spawn({
        ...spec,
        workerId: 'writer',
        // Its frames go through the proxy and its writes do not: a connection each.
        topology: { ...topology, backplane: viaProxy(backplane, proxy), oneClient: false },
      })
      const key = randomKey('k')
      const before = marks(readers)
      await writer.call({ op: 'set', key, value: { v: 1, by: writer.name } })
      const cachedBy = await warm(readers, key, before)
      proxy.stall()
      const from = readers.map((r) => r.events.length)
      await writer.call({ op: 'setThenDie', key, value: { v: 2, by: writer.name } })
      await writer.exited
      // The frame died with the writer: the readers still serve their (now stale) copies...
      for (const r of readers) expect((await r.call({ op: 'get', key }))?.value.v).toBe(1)
      // ...until the cap expires them, and nobody heard of the write.
      await convergeWithinCap(readers, key, cachedBy)
      readers.forEach((r, i) => {
        expect(r.events.slice(from[i]).filter((e) => e.origin === 'remote' && e.key === key)).toEqual([])
      })
    } finally {
      await proxy.close()
    }
  })
})
