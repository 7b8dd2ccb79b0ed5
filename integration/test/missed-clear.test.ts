/**
 * Issue 11: a Memcached region cleared behind a reader's back must stop being served.
 *
 * - With a backplane: A writes `k` in the default region and in region `r`, a fresh B reads
 *   both before its subscription is confirmed, A clears `r` (B cannot hear it), B reports the
 *   gap. B's next read of `k` in `r` must miss: the gap re-reads every generation counter, not
 *   only the cache's. Many fresh process pairs on every backplane in front of Memcached; half
 *   of them hold B's subscription until A's clear is made, so it certainly falls before it,
 *   half leave the timing to the servers, as the issue found it.
 * - Without a backplane: a region clear by A is no longer served by B, from its memory layer
 *   included, once B's periodic counter refresh (`generationRefreshMs`) has found it.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { describe, expect, inject, it } from 'vitest'
import { type Worker, WorkerPool } from '../src/harness.js'
import type { Topology } from '../src/worker/topology.js'

const pool = new WorkerPool()
const PAIRS = 20
/** Pairs run this many at a time (each is two processes): about the machine's cores. */
const AT_ONCE = 4
/** Far beyond a pair's lifetime: only the gap can make B re-read a counter. */
const NO_REFRESH_MS = 600_000

function memcachedBehindBackplanes(): Topology[] {
  const store = { kind: 'memcached', servers: inject('memcachedServers') } as const
  const nats = [inject('natsUrl')]
  return [
    {
      label: 'memory + Memcached + Redis backplane',
      store,
      backplane: { kind: 'redis', url: inject('redisUrl') },
    },
    { label: 'memory + Memcached + NATS backplane', store, backplane: { kind: 'nats', servers: nats } },
    {
      label: 'memory + Memcached + NATS replay backplane',
      store,
      backplane: { kind: 'nats', servers: nats, replayMaxAgeMs: 60_000 },
    },
  ]
}

/** One fresh pair: the sequence, then B must not serve the cleared value. */
async function missedRegionClear(topology: Topology, pair: number): Promise<void> {
  const cacheName = randomKey('missed')
  const spec = { cacheName, topology, generationRefreshMs: NO_REFRESH_MS }
  const a = await pool.spawn({ ...spec, workerId: `a${pair}` })
  const key = randomKey('k')
  await a.call({ op: 'set', key, value: { v: 1, by: 'a' } })
  await a.call({ op: 'set', key, region: 'r', value: { v: 1, by: 'a' } })
  const held = pair % 2 === 0
  const b = await pool.spawn({ ...spec, holdSubscription: held, workerId: `b${pair}` }, { waitReady: false })
  expect((await b.call({ op: 'get', key }))?.value.v).toBe(1)
  expect((await b.call({ op: 'get', key, region: 'r' }))?.value.v).toBe(1)
  // Taken before the call too: A announces the clear before its call returns here, so B may
  // subscribe after the message went out (and never hear it) and report its gap before the
  // call's reply reaches this process.
  const clearCalledAt = Date.now()
  await a.call({ op: 'clearRegion', region: 'r' })
  const clearedAt = Date.now()
  if (held) await b.call({ op: 'releaseSubscription' })
  // B learns of the clear one way or the other: it hears the message (subscribed in time), or
  // it reports a gap after the clear was called (subscribed too late to hear it).
  const learned = await b.waitEvent(
    (event) =>
      (event.name === 'clearRegion' && event.origin === 'remote') ||
      (event.name === 'backplane' && event.detail === 'gap' && event.at >= clearCalledAt),
    { what: `pair ${pair}: B hears the region clear or reports a gap after it` },
  )
  if (learned.name === 'backplane' && learned.at < clearedAt) {
    // B subscribed while A's clear ran: it re-read the counters after the clear's write, or it
    // subscribed before the message went out and hears it in a moment. Either way the value
    // stops being served (a B that re-read only the cache's counter would serve it for good).
    await waitFor(async () => (await b.call({ op: 'get', key, region: 'r' })) === null, {
      timeoutMs: 2_000,
      message: `pair ${pair}: the cleared value, B subscribed while the clear ran`,
    })
  }
  expect(await b.call({ op: 'get', key, region: 'r' }), `pair ${pair}: the cleared value`).toBeNull()
  expect(await b.call({ op: 'get', key, region: 'r' }), `pair ${pair}: read again`).toBeNull()
  expect((await b.call({ op: 'get', key }))?.value.v, `pair ${pair}: the default region`).toBe(1)
  await Promise.all([a.kill(), b.kill()])
}

describe.each(memcachedBehindBackplanes())('$label', (topology) => {
  it(`a region cleared before the reader subscribed is never served by it (${PAIRS} fresh pairs)`, async () => {
    for (let first = 0; first < PAIRS; first += AT_ONCE) {
      const batch = Array.from({ length: AT_ONCE }, (_, i) => first + i).filter((pair) => pair < PAIRS)
      await Promise.all(batch.map((pair) => missedRegionClear(topology, pair)))
    }
  }, 300_000)
})

describe('memory + Memcached, no backplane', () => {
  const topology: Topology = {
    label: 'memory + Memcached',
    store: { kind: 'memcached', servers: inject('memcachedServers') },
  }
  const refreshMs = 300

  /** The version `worker` reads for `key` in `region`, null for a miss. */
  const read = async (worker: Worker, key: string, region?: string) =>
    (await worker.call({ op: 'get', key, region }))?.value.v ?? null

  it('a clear by A stops being served by B, memory layer included, after generationRefreshMs', async () => {
    const [a, b] = await pool.spawnMany(2, {
      cacheName: randomKey('nobp'),
      topology,
      generationRefreshMs: refreshMs,
    })
    if (a === undefined || b === undefined) throw new Error('two workers expected')
    const key = randomKey('k')
    await a.call({ op: 'set', key, value: { v: 1, by: 'a' } })
    await a.call({ op: 'set', key, region: 'r', value: { v: 1, by: 'a' } })
    expect(await read(b, key, 'r')).toBe(1)
    expect(await read(b, key)).toBe(1)
    // Now in B's memory layer, which nothing but the counter refresh can evict.
    expect((await b.call({ op: 'get', key, region: 'r' }))?.level).toBe(0)
    expect((await b.call({ op: 'get', key }))?.level).toBe(0)

    await a.call({ op: 'clearRegion', region: 'r' })
    await b.waitEvent((event) => event.name === 'clearRegion' && event.origin === 'remote', {
      what: "B's remote clearRegion event",
      timeoutMs: 10 * refreshMs + 5_000,
    })
    expect(await read(b, key, 'r')).toBeNull()
    expect((await b.call({ op: 'get', key }))?.level).toBe(0) // the default region was not cleared

    await a.call({ op: 'clear' })
    await waitFor(async () => (await read(b, key)) === null, {
      timeoutMs: 10 * refreshMs + 5_000,
      message: 'B to stop serving the cleared cache',
    })
    expect(b.find((event) => event.name === 'clear' && event.origin === 'remote')).toHaveLength(1)
  })
})
