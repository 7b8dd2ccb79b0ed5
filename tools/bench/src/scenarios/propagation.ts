/**
 * Propagation across two processes over Redis pub/sub and NATS: this process writes a
 * key through CacheManager (memory + Redis + backplane), a worker process with the same
 * setup notices the remote `set` (write -> remote event) and reads the key (write -> new
 * value read). One write at a time: the next starts when the worker has reported the
 * last, so a lost message shows as a timeout and a stale read as an old `seq`. The
 * baseline is the raw pub/sub publish -> receive on the same server.
 */
import { randomUUID } from 'node:crypto'
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { connect } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import { WorkerProcess } from '../child.js'
import type { BenchContext, Scenario } from '../context.js'
import { createBentoCache } from '../peers.js'
import { type LatencySummary, monotonicMs, summarize } from '../percentiles.js'
import type { Cell, ScenarioResult, TargetCheck } from '../results.js'
import { type BackplaneChoice, createBackplane } from '../roles/backplane-choice.js'
import type { Probe } from '../roles/listeners.js'

/** A message not seen within this long counts as lost. */
const DEADLINE_MS = 2_000
const WARMUP = 50

/** What {@link probe} measured. */
export interface Outcome {
  readonly event: number[]
  readonly read: number[]
  /** How long the writer's own call took (set() or publish()). */
  readonly write: number[]
  lost: number
  stale: number
}

/** Runs `samples` probes: `write` sends one, the worker reports it. */
export async function probe(
  worker: WorkerProcess,
  samples: number,
  write: (probe: Probe) => Promise<unknown>,
): Promise<Outcome> {
  const outcome: Outcome = { event: [], read: [], write: [], lost: 0, stale: 0 }
  for (let seq = 1; seq <= samples + WARMUP; seq++) {
    const t0 = monotonicMs()
    await write({ seq, t0 })
    const written = monotonicMs() - t0
    let seen: Record<string, unknown>
    try {
      seen = await worker.next('seen', DEADLINE_MS)
    } catch {
      outcome.lost++
      continue
    }
    if (seen.seq !== seq) {
      outcome.stale++
      continue
    }
    if (seq <= WARMUP) continue
    outcome.write.push(written)
    outcome.event.push((seen.te as number) - t0)
    outcome.read.push((seen.tr as number) - t0)
  }
  return outcome
}

async function measureCache(choice: BackplaneChoice, redisUrl: string, samples: number): Promise<Outcome> {
  const cacheName = `bench-propagation-${randomUUID().slice(0, 8)}`
  const key = 'hot'
  const worker = new WorkerProcess('cache-listener', { cacheName, key, redisUrl, backplane: choice })
  const writer = new CacheManager<Probe>({
    name: cacheName,
    handles: [memoryHandle({ maxEntries: 1_000 }), redisHandle({ url: redisUrl })],
    backplane: createBackplane(choice),
  })
  try {
    await worker.next('ready', 10_000)
    await writer.ready()
    return await probe(worker, samples, (p) => writer.set(key, p))
  } finally {
    await writer.close()
    await worker.stop()
  }
}

/** BentoCache (memory + Redis + its Redis bus) doing the same: the peer users would pick instead. */
async function measureBento(redisUrl: string, samples: number): Promise<Outcome> {
  const key = `bench-bento-${randomUUID().slice(0, 8)}`
  const worker = new WorkerProcess('bento-listener', { key, redisUrl })
  const writer = createBentoCache(redisUrl, 1_000)
  try {
    await worker.next('ready', 10_000)
    return await probe(worker, samples, (p) => writer.set({ key, value: p }))
  } finally {
    await writer.disconnect()
    await worker.stop()
  }
}

/**
 * The raw baselines on one transport: publish -> receive, and the control that does the
 * same work as a cacheplane write (a Redis SET of the value, then the publish).
 */
async function measureRaw(
  choice: BackplaneChoice,
  redisUrl: string,
  samples: number,
): Promise<{ pubsub: Outcome; setThenPublish: Outcome }> {
  const channel = choice.kind === 'redis' ? `bench-raw-${randomUUID()}` : `bench.raw.${randomUUID()}`
  const role = choice.kind === 'redis' ? 'raw-redis-subscriber' : 'raw-nats-subscriber'
  const worker = new WorkerProcess(role, { url: choice.url, channel })
  const store = new Redis(redisUrl)
  let publish: (text: string) => Promise<unknown>
  let close: () => Promise<void>
  if (choice.kind === 'redis') {
    const publisher = new Redis(choice.url)
    publish = (text) => publisher.publish(channel, text)
    close = async () => publisher.disconnect()
  } else {
    const connection = await connect({ servers: choice.url })
    const encoder = new TextEncoder()
    publish = async (text) => connection.publish(channel, encoder.encode(text))
    close = () => connection.close()
  }
  try {
    await worker.next('ready', 10_000)
    const pubsub = await probe(worker, samples, (p) => publish(JSON.stringify(p)))
    const setThenPublish = await probe(worker, samples, async (p) => {
      const text = JSON.stringify(p)
      await store.set('bench-raw-hot', text)
      await publish(text)
    })
    return { pubsub, setThenPublish }
  } finally {
    await close()
    store.disconnect()
    await worker.stop()
  }
}

function row(subject: string, path: string, latency: LatencySummary, outcome: Outcome): Record<string, Cell> {
  return {
    subject,
    path,
    p50: latency.p50,
    p99: latency.p99,
    max: latency.max,
    samples: latency.count,
    lost: outcome.lost + outcome.stale,
  }
}

/** The rows and targets of CacheManager and the raw clients over one transport. */
async function measureTransport(
  choice: BackplaneChoice,
  redisUrl: string,
  samples: number,
): Promise<{ rows: Array<Record<string, Cell>>; targets: TargetCheck[] }> {
  const label = choice.kind === 'redis' ? 'Redis pub/sub' : 'NATS'
  const cache = await measureCache(choice, redisUrl, samples)
  const raw = await measureRaw(choice, redisUrl, samples)
  const event = summarize(cache.event)
  const read = summarize(cache.read)
  const rawLatency = summarize(raw.pubsub.event)
  const ours = `CacheManager over ${label}`
  const setThenPublish = `raw ioredis SET, then ${label} publish`
  const rows = [
    row(ours, "writer's own set() call", summarize(cache.write), cache),
    row(ours, 'set() called -> remote set event', event, cache),
    row(ours, 'set() called -> new value read remotely', read, cache),
    row(`raw ${label}`, 'publish -> receive', rawLatency, raw.pubsub),
    row(
      setThenPublish,
      "writer's own SET + publish",
      summarize(raw.setThenPublish.write),
      raw.setThenPublish,
    ),
    row(setThenPublish, 'SET called -> receive', summarize(raw.setThenPublish.event), raw.setThenPublish),
  ]
  const targets = [
    {
      target: `propagation over ${label}: p50 <= 3x raw pub/sub`,
      measured: `event p50 ${event.p50.toFixed(3)} ms = ${(event.p50 / rawLatency.p50).toFixed(2)}x raw ${rawLatency.p50.toFixed(3)} ms (read p50 ${read.p50.toFixed(3)} ms)`,
      met: event.p50 <= 3 * rawLatency.p50,
    },
    {
      target: `propagation over ${label}: p99 < 2 ms, nothing lost`,
      measured: `event p99 ${event.p99.toFixed(3)} ms, read p99 ${read.p99.toFixed(3)} ms, lost ${cache.lost}, stale ${cache.stale}`,
      met: event.p99 < 2 && cache.lost === 0 && cache.stale === 0,
    },
  ]
  return { rows, targets }
}

/** BentoCache's rows, the peer users would pick instead. */
function bentoRows(bento: Outcome): Array<Record<string, Cell>> {
  const subject = 'BentoCache over Redis pub/sub'
  return [
    row(subject, "writer's own set() call", summarize(bento.write), bento),
    row(subject, 'set() called -> bus message received', summarize(bento.event), bento),
    row(subject, 'set() called -> new value read remotely', summarize(bento.read), bento),
  ]
}

export const propagation: Scenario = {
  name: 'propagation',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const samples = context.quick ? 300 : 2_000
    const redisUrl = await context.servers.redis()
    const natsUrl = await context.servers.nats()
    const rows: Array<Record<string, Cell>> = []
    const targets: TargetCheck[] = []
    for (const choice of [
      { kind: 'redis', url: redisUrl },
      { kind: 'nats', url: natsUrl },
    ] as const) {
      context.log(`propagation: ${choice.kind === 'redis' ? 'Redis pub/sub' : 'NATS'}, ${samples} writes`)
      const measured = await measureTransport(choice, redisUrl, samples)
      rows.push(...measured.rows)
      targets.push(...measured.targets)
    }
    context.log(`propagation: BentoCache over Redis, ${samples} writes`)
    rows.push(...bentoRows(await measureBento(redisUrl, samples)))
    return {
      name: 'propagation',
      title: 'Propagation across two processes',
      description: `${samples} sequential writes of one key per transport (after ${WARMUP} warm-up writes). Times in ms on CLOCK_MONOTONIC, measured from the moment the writer calls set() (so they include the writer's Redis write), or publish() for the raw baseline. "lost" counts messages not seen within ${DEADLINE_MS} ms plus stale reads.`,
      columns: [
        { key: 'subject', title: 'subject' },
        { key: 'path', title: 'measured' },
        { key: 'p50', title: 'p50 ms', format: 'ms' },
        { key: 'p99', title: 'p99 ms', format: 'ms' },
        { key: 'max', title: 'max ms', format: 'ms' },
        { key: 'samples', title: 'samples', format: 'int' },
        { key: 'lost', title: 'lost', format: 'int' },
      ],
      rows,
      targets,
    }
  },
}
