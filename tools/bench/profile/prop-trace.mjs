// Steady-state propagation trace: writer and receiver processes stamp socket writes and
// reads (CLOCK_MONOTONIC, shared by processes) so a slow sample's time is attributed to
// a segment. `node prop-trace.mjs [redis|nats] [samples] [warmup]` with REDIS_URL / NATS_URL;
// RAW=1 measures the raw control (ioredis SET, then PUBLISH or a NATS publish; a bare
// subscriber) instead, READ=1 makes the listener read the key after each event before it
// reports, as the bench's does. `cpu` is the writer process's CPU time during a sample
// (every thread: V8's collector and compiler threads count).
// Experiments on the NATS tail (2026-12-06, sixth pass): CHILD_RAW=1 listens with a bare
// NATS subscriber, NO_ECHO=1 opens the backplane's connection with noEcho, NO_FLUSH=1
// answers its per-publish flush at once, PLAIN=1 puts the handle on a plain client,
// NO_STORE=1 drops the Redis write (memory only; raw: the publish only), IDLE=1 (with
// RAW=1) keeps an idle CacheManager in each process.
import { fork } from 'node:child_process'
import net from 'node:net'
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { natsBackplane } from '@cacheplane/nats'
import { connect as connectNats } from '@nats-io/transport-node'
// NO_FLUSH=1: the backplane's connection answers flush() at once (no PING/PONG per publish).
const noFlush = (connection) =>
  new Proxy(connection, {
    get: (target, prop) => (prop === 'flush' ? () => Promise.resolve() : Reflect.get(target, prop, target)),
  })

const now = () => Number(process.hrtime.bigint()) / 1e6
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const kind = process.argv[2] ?? 'redis'
const samples = Number(process.argv[3] ?? 3000)
const warmup = Number(process.argv[4] ?? 3000)

// GC pauses on the monotonic clock (entry times are relative to performance.timeOrigin).
import { PerformanceObserver, performance } from 'node:perf_hooks'
const offset = now() - performance.now()
const gcs = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([e.startTime + offset, e.duration, e.detail?.kind])
}).observe({ entryTypes: ['gc'] })

// Every socket write and data event, stamped (the trace keeps the last few per sample).
const log = []
const write = net.Socket.prototype.write
net.Socket.prototype.write = function (...args) {
  log.push(['w', now(), this.remotePort])
  return write.apply(this, args)
}
const emit = net.Socket.prototype.emit
net.Socket.prototype.emit = function (event, ...args) {
  if (event === 'data') log.push(['r', now(), this.remotePort])
  return emit.call(this, event, ...args)
}

import { Redis } from 'ioredis'
const raw = process.env.RAW === '1'
// The raw control: a SET of the JSON then a publish; the receiver subscribes with ioredis.
async function makeRaw() {
  if (kind === 'nats') return makeRawNats()
  const store = new Redis(redisUrl)
  const publisher = new Redis(redisUrl)
  const subscriber = new Redis(redisUrl)
  const listeners = []
  subscriber.on('message', () => {
    for (const l of listeners) l({ origin: 'remote' })
  })
  return {
    ready: () => subscriber.subscribe('raw-trace'),
    on: (_e, l) => listeners.push(l),
    set: async (key, value) => {
      const text = JSON.stringify(value)
      await store.set(key, text)
      await publisher.publish('raw-trace', text)
    },
  }
}
// The raw control over NATS: a SET of the JSON then a NATS publish; a NATS subscriber receives.
async function makeRawNats() {
  // IDLE=1: an idle CacheManager (its connections, timers) lives in each process beside the control.
  if (process.env.IDLE === '1') {
    const idle = new CacheManager({
      name: 'idle',
      handles: [memoryHandle({ maxEntries: 1000 }), redisHandle({ url: redisUrl })],
      backplane: natsBackplane({ servers: natsUrl }),
    })
    await idle.ready()
  }
  const store = new Redis(redisUrl)
  const connection = await connectNats({ servers: natsUrl })
  const listeners = []
  const encoder = new TextEncoder()
  return {
    ready: async () => {
      connection.subscribe('raw-trace', {
        callback: () => {
          for (const l of listeners) l({ origin: 'remote' })
        },
      })
      await connection.flush()
    },
    on: (_e, l) => listeners.push(l),
    set: async (key, value) => {
      const text = JSON.stringify(value)
      if (process.env.NO_STORE !== '1') await store.set(key, text)
      connection.publish('raw-trace', encoder.encode(text))
    },
  }
}
async function makeCache(name) {
  if (raw) return makeRaw()
  const backplane =
    kind === 'redis'
      ? redisBackplane({ url: redisUrl })
      : process.env.NO_FLUSH === '1'
        ? natsBackplane({ client: noFlush(await connectNats({ servers: natsUrl })) })
        : process.env.NO_ECHO === '1'
          ? natsBackplane({ servers: natsUrl, connectOptions: { noEcho: true } })
          : natsBackplane({ servers: natsUrl })
  return new CacheManager({
    name,
    // PLAIN=1: the handle on a plain client of ours (no corked writes).
    handles:
      process.env.NO_STORE === '1'
        ? [memoryHandle({ maxEntries: 1000 })]
        : [
            memoryHandle({ maxEntries: 1000 }),
            redisHandle(process.env.PLAIN === '1' ? { client: new Redis(redisUrl) } : { url: redisUrl }),
          ],
    backplane,
  })
}

// CHILD_RAW=1 (nats): the listening process is a bare NATS subscriber to every subject, not a cache.
async function rawChildNats() {
  const connection = await connectNats({ servers: natsUrl })
  const listeners = []
  connection.subscribe('>', {
    callback: (_error, message) => {
      if (message.subject.includes('trace')) for (const l of listeners) l({ origin: 'remote' })
    },
  })
  await connection.flush()
  return { ready: async () => {}, on: (_e, l) => listeners.push(l) }
}

if (process.argv[5] === 'child') {
  const cache = process.env.CHILD_RAW === '1' ? await rawChildNats() : await makeCache('trace')
  await cache.ready()
  cache.on('set', (event) => {
    if (event.origin !== 'remote') return
    const te = now()
    const reads = log.filter((l) => l[0] === 'r')
    const td = reads.length > 0 ? reads[reads.length - 1][1] : te
    log.length = 0
    if (process.env.READ === '1') cache.get('hot').then(() => process.send({ te, td }))
    else process.send({ te, td })
  })
  process.send({ ready: true })
  process.on('message', () => process.send({ gcs }))
} else {
  const child = fork(new URL(import.meta.url).pathname, [kind, String(samples), String(warmup), 'child'])
  const messages = []
  let wake
  child.on('message', (m) => {
    messages.push(m)
    wake?.()
  })
  const next = () =>
    new Promise((r) => {
      if (messages.length) r(messages.shift())
      else
        wake = () => {
          wake = undefined
          r(messages.shift())
        }
    })
  await next()
  const cache = await makeCache('trace')
  await cache.ready()
  const rows = []
  // Warm-up rows are built too, apart: the loop runs the same code throughout, so the JIT does
  // not recompile it when the samples start (as the bench's propagation loop does).
  const unmeasured = []
  let measuredFrom = 0
  for (let i = 0; i < samples + warmup; i++) {
    log.length = 0
    const c0 = process.cpuUsage()
    const t0 = now()
    await cache.set('hot', { seq: i })
    const ts = now()
    const seen = await next()
    const used = process.cpuUsage(c0)
    if (i === warmup) measuredFrom = t0
    const writes = log.filter((l) => l[0] === 'w' && l[1] <= ts + 5)
    const reads = log.filter((l) => l[0] === 'r' && l[1] <= ts)
    ;(i < warmup ? unmeasured : rows).push({
      t0,
      total: seen.te - t0,
      set: ts - t0,
      firstWrite: (writes[0]?.[1] ?? t0) - t0,
      setReply: (reads[0]?.[1] ?? ts) - t0,
      publishWrite: (writes[1]?.[1] ?? ts) - t0,
      wire: seen.td - t0,
      recv: seen.te - seen.td,
      writes: writes.length,
      cpu: (used.user + used.system) / 1000,
    })
  }
  rows.sort((a, b) => a.total - b.total)
  const pick = (q) => rows[Math.floor(q * (rows.length - 1))]
  const fmt = (r) =>
    Object.entries(r)
      .filter(([k]) => k !== 't0')
      .map(([k, v]) => `${k}=${typeof v === 'number' && k !== 'writes' ? v.toFixed(3) : v}`)
      .join(' ')
  console.log(kind, 'p50 ', fmt(pick(0.5)))
  console.log(kind, 'p90 ', fmt(pick(0.9)))
  console.log(kind, 'p99 ', fmt(pick(0.99)))
  const slow = rows.slice(Math.floor(rows.length * 0.99))
  child.send('gcs')
  const childGcs = (await next()).gcs
  const overlaps = (list, r) => list.some(([s, d]) => s + d >= r.t0 && s <= r.t0 + r.total)
  console.log(
    kind,
    'slowest 1%:',
    slow.length,
    'overlap a writer GC',
    slow.filter((r) => overlaps(gcs, r)).length,
    'a receiver GC',
    slow.filter((r) => overlaps(childGcs, r)).length,
    '| GCs during measured samples: writer',
    gcs.filter(([s]) => s >= measuredFrom).length,
    'receiver',
    childGcs.filter(([s]) => s >= measuredFrom).length,
  )
  const avg = (k) => (slow.reduce((s, r) => s + r[k], 0) / slow.length).toFixed(3)
  console.log(
    kind,
    'slowest 1% (mean):',
    ['total', 'set', 'firstWrite', 'setReply', 'publishWrite', 'wire', 'recv', 'cpu']
      .map((k) => `${k}=${avg(k)}`)
      .join(' '),
  )
  for (const r of slow.slice(-8)) console.log('   ', fmt(r))
  child.kill()
  process.exit(0)
}
