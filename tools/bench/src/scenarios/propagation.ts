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
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { connect } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import { WorkerProcess } from '../child.js'
import type { BenchContext, Scenario } from '../context.js'
import { UsageError } from '../options.js'
import { createBentoCache } from '../peers.js'
import { type LatencySummary, monotonicMs, summarize } from '../percentiles.js'
import type { Cell, ScenarioResult, TargetCheck } from '../results.js'
import { type BackplaneChoice, createBackplane } from '../roles/backplane-choice.js'
import type { Probe } from '../roles/listeners.js'

/** A message not seen within this long counts as lost. */
const DEADLINE_MS = 2_000
/**
 * Unmeasured writes per setup before the samples. Until the JIT has compiled a path, its writes
 * are several times slower (slow samples bunched in the first few thousand writes of a process,
 * `tools/bench/profile/set-tail.mjs`), and it compiles on a thread of its own, which on a small
 * machine takes a core from the servers and the listener. With 3,000, the writer and its listener
 * still compiled 16-19 functions during the NATS samples (core's `guard` among them), and the
 * p99 measured that; with 12,000, 1-3 (`tools/bench/profile/jit-during-samples.mjs`). The raw
 * controls' code (ioredis, the NATS client) runs in every setup's warm-up, so it was warm long
 * before. `PROPAGATION_WARMUP` overrides it, for that script.
 */
const WARMUP = 12_000

/** `PROPAGATION_WARMUP` when set (a whole number of writes), else {@link WARMUP}. */
function warmupFromEnvironment(): number {
  const text = process.env.PROPAGATION_WARMUP
  if (text === undefined) return WARMUP
  const writes = Number(text)
  if (text.trim() === '' || !Number.isInteger(writes) || writes < 0)
    throw new UsageError(`PROPAGATION_WARMUP must be a whole number of writes, got '${text}'`)
  return writes
}
/** Setups of one transport take turns in this many rounds, so a busy spell of the machine spreads over all. */
const ROUNDS = 6

/** What {@link probe} measured. */
export interface Outcome {
  readonly event: number[]
  readonly read: number[]
  /** How long the writer's own call took (set() or publish()). */
  readonly write: number[]
  lost: number
  stale: number
}

const emptyOutcome = (): Outcome => ({ event: [], read: [], write: [], lost: 0, stale: 0 })

/** One writer and the worker reporting what it saw; setups sharing a worker share `seq`. */
interface ProbeSetup {
  readonly worker: WorkerProcess
  readonly write: (probe: Probe) => Promise<unknown>
  readonly seq: { next: number }
  readonly outcome: Outcome
}

/**
 * Sends `warmup` unmeasured probes then `samples` measured ones, one at a time. The unmeasured
 * ones are recorded too, apart: the loop runs the same code throughout, so the JIT does not
 * recompile it when the samples start (it did, and the first setup measured paid for it).
 */
async function runProbes(setup: ProbeSetup, samples: number, warmup: number): Promise<void> {
  const { worker, outcome } = setup
  const unmeasured = emptyOutcome()
  for (let i = 0; i < samples + warmup; i++) {
    const seq = setup.seq.next++
    const t0 = monotonicMs()
    await setup.write({ seq, t0 })
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
    const into = i < warmup ? unmeasured : outcome
    into.write.push(written)
    into.event.push((seen.te as number) - t0)
    into.read.push((seen.tr as number) - t0)
  }
}

/** Runs `samples` probes after 50 warm-up writes: `write` sends one, the worker reports it. */
export async function probe(
  worker: WorkerProcess,
  samples: number,
  write: (probe: Probe) => Promise<unknown>,
): Promise<Outcome> {
  const setup = { worker, write, seq: { next: 1 }, outcome: emptyOutcome() }
  await runProbes(setup, samples, 50)
  return setup.outcome
}

/** How many writes a scenario measures, after how many unmeasured ones, and where it reports progress. */
interface Pace {
  readonly samples: number
  readonly warmup: number
  readonly log: (line: string) => void
}

/** Warms every setup, then lets them take turns in {@link ROUNDS} rounds of their share of `samples`. */
async function alternate(setups: readonly ProbeSetup[], { samples, warmup, log }: Pace): Promise<void> {
  for (const setup of setups) await runProbes(setup, 0, warmup)
  log(`propagation: warmed up (${warmup} writes per setup), measuring`)
  const perRound = Math.ceil(samples / ROUNDS)
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of setups) await runProbes(setup, perRound, 0)
  }
}

/** A setup with what closes it. */
interface Opened<T> {
  readonly setups: T
  close(): Promise<void>
}

/**
 * The writer and its listening worker. With `oneClient` (Redis pub/sub only), the handle and the
 * backplane share one client, as the README sets them up: the PUBLISH follows the SET on the
 * connection, so the write is announced as soon as it is sent (`Backplane.ordersAfter`).
 * Without, each opens its own connection and the write is announced after its reply.
 */
async function openCache(
  choice: BackplaneChoice,
  redisUrl: string,
  oneClient: boolean,
): Promise<Opened<ProbeSetup>> {
  const cacheName = `bench-propagation-${randomUUID().slice(0, 8)}`
  const key = 'hot'
  const worker = new WorkerProcess('cache-listener', { cacheName, key, redisUrl, backplane: choice })
  const client = oneClient ? new Redis(redisUrl) : undefined
  // Over Redis pub/sub without one client: the setup with a connection each (opened from one
  // `url`, they would share one).
  const apart = client === undefined && choice.kind === 'redis'
  const writer = new CacheManager<Probe>({
    name: cacheName,
    handles: [
      memoryHandle({ maxEntries: 1_000 }),
      redisHandle(client === undefined ? { url: redisUrl, shareConnection: !apart } : { client }),
    ],
    backplane:
      client !== undefined
        ? redisBackplane({ client })
        : apart
          ? redisBackplane({ url: choice.url, shareConnection: false })
          : createBackplane(choice),
  })
  const close = async (): Promise<void> => {
    await writer.close()
    client?.disconnect()
    await worker.stop()
  }
  try {
    await worker.next('ready', 10_000)
    await writer.ready()
  } catch (error) {
    await close()
    throw error
  }
  const write = (p: Probe): Promise<unknown> => writer.set(key, p)
  return { setups: { worker, write, seq: { next: 1 }, outcome: emptyOutcome() }, close }
}

/** BentoCache (memory + Redis + its Redis bus) doing the same: the peer users would pick instead. */
async function measureBento(redisUrl: string, { samples, warmup }: Pace): Promise<Outcome> {
  const key = `bench-bento-${randomUUID().slice(0, 8)}`
  const worker = new WorkerProcess('bento-listener', { key, redisUrl })
  const writer = createBentoCache(redisUrl, 1_000)
  try {
    await worker.next('ready', 10_000)
    const setup = {
      worker,
      write: (p: Probe) => writer.set({ key, value: p }),
      seq: { next: 1 },
      outcome: emptyOutcome(),
    }
    await runProbes(setup, samples, warmup)
    return setup.outcome
  } finally {
    await writer.disconnect()
    await worker.stop()
  }
}

/** The raw publisher of one transport: publish a text, and close. */
async function rawPublisher(
  choice: BackplaneChoice,
  channel: string,
): Promise<{ publish: (text: string) => Promise<unknown>; close: () => Promise<void> }> {
  if (choice.kind === 'redis') {
    const publisher = new Redis(choice.url)
    return { publish: (text) => publisher.publish(channel, text), close: async () => publisher.disconnect() }
  }
  const connection = await connect({ servers: choice.url })
  const encoder = new TextEncoder()
  return {
    publish: async (text) => connection.publish(channel, encoder.encode(text)),
    close: () => connection.close(),
  }
}

/**
 * The raw baselines on one transport: publish -> receive, and the control that does the
 * same work as a cacheplane write (a Redis SET of the value, then the publish), twice: the
 * second (`again`) takes its turns like any setup, and how far it lands from the first is
 * what the run's noise alone moves the control.
 */
async function openRaw(
  choice: BackplaneChoice,
  redisUrl: string,
): Promise<Opened<{ pubsub: ProbeSetup; setThenPublish: ProbeSetup; again: ProbeSetup }>> {
  const channel = choice.kind === 'redis' ? `bench-raw-${randomUUID()}` : `bench.raw.${randomUUID()}`
  const role = choice.kind === 'redis' ? 'raw-redis-subscriber' : 'raw-nats-subscriber'
  const worker = new WorkerProcess(role, { url: choice.url, channel })
  const store = new Redis(redisUrl)
  const close = async (): Promise<void> => {
    await publisher?.close()
    store.disconnect()
    await worker.stop()
  }
  let publisher: Awaited<ReturnType<typeof rawPublisher>> | undefined
  try {
    publisher = await rawPublisher(choice, channel)
    await worker.next('ready', 10_000)
  } catch (error) {
    await close()
    throw error
  }
  const { publish } = publisher
  const seq = { next: 1 }
  const pubsub = { worker, seq, outcome: emptyOutcome(), write: (p: Probe) => publish(JSON.stringify(p)) }
  const control = (): ProbeSetup => ({
    worker,
    seq,
    outcome: emptyOutcome(),
    write: async (p: Probe) => {
      const text = JSON.stringify(p)
      await store.set('bench-raw-hot', text)
      await publish(text)
    },
  })
  return { setups: { pubsub, setThenPublish: control(), again: control() }, close }
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

/** What one transport's setups measured: CacheManager's (two over Redis pub/sub) and the raw controls'. */
interface TransportOutcomes {
  /** CacheManager with one client for its store and backplane (Redis pub/sub on the store's server). */
  readonly oneClient: boolean
  readonly cache: Outcome
  /** CacheManager with a connection each, next to the one-client setup. */
  readonly separate: Outcome | undefined
  readonly pubsub: Outcome
  readonly setThenPublish: Outcome
  /** The control measured again in the same rounds (an A/A comparison). */
  readonly again: Outcome
}

/** Opens CacheManager's setups and the raw controls of one transport and lets them take turns. */
async function measureSetups(
  choice: BackplaneChoice,
  redisUrl: string,
  pace: Pace,
): Promise<TransportOutcomes> {
  const oneClient = choice.kind === 'redis' && choice.url === redisUrl
  const ours = await openCache(choice, redisUrl, oneClient)
  let separate: Opened<ProbeSetup> | undefined
  let rawOpened: Awaited<ReturnType<typeof openRaw>> | undefined
  try {
    if (oneClient) separate = await openCache(choice, redisUrl, false)
    rawOpened = await openRaw(choice, redisUrl)
    const { pubsub, setThenPublish, again } = rawOpened.setups
    const setups = [ours.setups, setThenPublish, pubsub]
    if (separate !== undefined) setups.push(separate.setups)
    setups.push(again)
    await alternate(setups, pace)
  } finally {
    await rawOpened?.close()
    await separate?.close()
    await ours.close()
  }
  return {
    oneClient,
    cache: ours.setups.outcome,
    separate: separate?.setups.outcome,
    pubsub: rawOpened.setups.pubsub.outcome,
    setThenPublish: rawOpened.setups.setThenPublish.outcome,
    again: rawOpened.setups.again.outcome,
  }
}

/** The rows and targets of CacheManager and the raw clients over one transport, measured in turns. */
async function measureTransport(
  choice: BackplaneChoice,
  redisUrl: string,
  pace: Pace,
): Promise<{ rows: Array<Record<string, Cell>>; targets: TargetCheck[] }> {
  const label = choice.kind === 'redis' ? 'Redis pub/sub' : 'NATS'
  const { oneClient, cache, separate, pubsub, setThenPublish, again } = await measureSetups(
    choice,
    redisUrl,
    pace,
  )
  const event = summarize(cache.event)
  const read = summarize(cache.read)
  const rawLatency = summarize(pubsub.event)
  const control = `raw ioredis SET, then ${label} publish`
  const rows = cacheRows(
    `CacheManager over ${label}${oneClient ? ', one client for store and backplane' : ''}`,
    cache,
  )
  if (separate !== undefined)
    rows.push(...cacheRows(`CacheManager over ${label}, a connection each`, separate))
  rows.push(
    row(`raw ${label}`, 'publish -> receive', rawLatency, pubsub),
    row(control, "writer's own SET + publish", summarize(setThenPublish.write), setThenPublish),
    row(control, 'SET called -> receive', summarize(setThenPublish.event), setThenPublish),
    row(`${control}, again (A/A control)`, 'SET called -> receive', summarize(again.event), again),
  )
  const lost = [cache, ...(separate === undefined ? [] : [separate])].reduce(
    (n, o) => n + o.lost + o.stale,
    0,
  )
  const targets = [
    {
      target: `propagation over ${label}: p50 <= 3x raw pub/sub`,
      measured: `event p50 ${event.p50.toFixed(3)} ms = ${(event.p50 / rawLatency.p50).toFixed(2)}x raw ${rawLatency.p50.toFixed(3)} ms (read p50 ${read.p50.toFixed(3)} ms)`,
      met: event.p50 <= 3 * rawLatency.p50,
    },
    {
      target: `propagation over ${label}: p99 < 2 ms, nothing lost`,
      measured: `event p99 ${event.p99.toFixed(3)} ms, read p99 ${read.p99.toFixed(3)} ms, lost or stale ${lost} (every CacheManager setup)`,
      met: event.p99 < 2 && lost === 0,
    },
    againstControl(label, event, summarize(setThenPublish.event), summarize(again.event)),
  ]
  return { rows, targets }
}

/** A CacheManager setup's three rows. */
function cacheRows(subject: string, outcome: Outcome): Array<Record<string, Cell>> {
  return [
    row(subject, "writer's own set() call", summarize(outcome.write), outcome),
    row(subject, 'set() called -> remote set event', summarize(outcome.event), outcome),
    row(subject, 'set() called -> new value read remotely', summarize(outcome.read), outcome),
  ]
}

/**
 * Issue 16's target: set() -> remote event within 1.3x (p50) and 1.5x (p99) of raw
 * SET-then-publish -> receive. The control measured again (`again`) is shown against the
 * first, the same two ratios: what the run's noise alone makes of them.
 */
function againstControl(
  label: string,
  event: LatencySummary,
  control: LatencySummary,
  again: LatencySummary,
): TargetCheck {
  const p50 = event.p50 / control.p50
  const p99 = event.p99 / control.p99
  return {
    target: `propagation over ${label}: p50 <= 1.3x, p99 <= 1.5x the raw SET-then-publish control`,
    measured: `p50 ${event.p50.toFixed(3)} vs ${control.p50.toFixed(3)} ms = ${p50.toFixed(2)}x; p99 ${event.p99.toFixed(3)} vs ${control.p99.toFixed(3)} ms = ${p99.toFixed(2)}x (the control again, A/A: ${(again.p50 / control.p50).toFixed(2)}x / ${(again.p99 / control.p99).toFixed(2)}x)`,
    met: p50 <= 1.3 && p99 <= 1.5,
  }
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
    const samples = context.quick ? 300 : 6_000
    const warmup = context.quick ? 300 : warmupFromEnvironment()
    const pace = { samples, warmup, log: context.log }
    const redisUrl = await context.servers.redis()
    const natsUrl = await context.servers.nats()
    const rows: Array<Record<string, Cell>> = []
    const targets: TargetCheck[] = []
    for (const choice of [
      { kind: 'redis', url: redisUrl },
      { kind: 'nats', url: natsUrl },
    ] as const) {
      context.log(`propagation: ${choice.kind === 'redis' ? 'Redis pub/sub' : 'NATS'}, ${samples} writes`)
      const measured = await measureTransport(choice, redisUrl, pace)
      rows.push(...measured.rows)
      targets.push(...measured.targets)
    }
    context.log(`propagation: BentoCache over Redis, ${samples} writes`)
    rows.push(...bentoRows(await measureBento(redisUrl, pace)))
    return {
      name: 'propagation',
      title: 'Propagation across two processes',
      description: `${samples} sequential writes of one key per setup and transport, after ${warmup} unmeasured warm-up writes per setup (so the JIT has compiled the paths); the setups of a transport take turns in ${ROUNDS} rounds (over Redis pub/sub, CacheManager twice: with one client for its store and backplane, as the README sets it up, so a set is announced behind its SET; and with a connection each, announced after the reply; and the raw SET-then-publish control twice, the second an A/A control of the run's noise). Times in ms on CLOCK_MONOTONIC, measured from the moment the writer calls set() (so they include the writer's Redis write), or publish() for the raw baseline. "lost" counts messages not seen within ${DEADLINE_MS} ms plus stale reads.`,
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
