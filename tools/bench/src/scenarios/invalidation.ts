/**
 * Invalidation throughput: this process changes keys as fast as it can through a
 * CacheManager (64 writes in flight, keys round-robin) for a fixed time, while a worker
 * process with the same setup keeps reading the same keys through its memory layer; then
 * the worker checks its memory layer (see `roles/invalidation-reader.ts`).
 *
 * Two setups: memory + Redis + backplane (each change is also a Redis write, so Redis'
 * write rate bounds it), and memory + backplane (the invalidation path alone: the bus
 * deduplicates pending keys and batches them into frames).
 */
import { randomUUID } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { type CacheHandle, CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { WorkerProcess, type WorkerMessage } from '../child.js'
import type { BenchContext, Scenario } from '../context.js'
import { makeKeys } from '../fixtures.js'
import { runConcurrent } from '../measure.js'
import type { Cell, ScenarioResult, TargetCheck } from '../results.js'
import { type BackplaneChoice, createBackplane } from '../roles/backplane-choice.js'

const KEYS = 10_000
const CONCURRENCY = 64

interface Versioned {
  readonly seq: number
}

interface Outcome extends Record<string, Cell> {
  rate: number
  /** The writer process's CPU time (user + system, all threads) per write, µs. */
  cpuPerWrite: number
  stale: number
  cached: number
}

const MARKER = 'marker'

type Writer = CacheManager<Versioned>
type BackplaneStats = ReturnType<Writer['stats']>['backplane']

/** The writer of one setup, ready; over Redis every key already holds a first value. */
async function openWriter(
  cacheName: string,
  keys: readonly string[],
  choice: BackplaneChoice,
  redisUrl: string | undefined,
): Promise<Writer> {
  const handles: CacheHandle<unknown>[] = [memoryHandle({ maxEntries: KEYS * 2 })]
  if (redisUrl !== undefined) handles.push(redisHandle({ url: redisUrl }))
  const writer = new CacheManager<Versioned>({ name: cacheName, handles, backplane: createBackplane(choice) })
  await writer.ready()
  if (redisUrl !== undefined) {
    await runConcurrent(CONCURRENCY, keys.length, (i) => writer.set(keys[i] as string, { seq: 0 }))
  }
  return writer
}

/** Writes for `durationMs`, {@link CONCURRENCY} in flight, and flushes the backplane. */
async function writeBurst(writer: Writer, keys: readonly string[], durationMs: number) {
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  const deadline = started + durationMs
  // Bounded in time (the deadline) and in count (a cap far above what fits in the time).
  const writes = await runConcurrent(
    CONCURRENCY,
    100_000_000,
    async (n) => {
      await writer.set(keys[n % KEYS] as string, { seq: n + 1 })
      // Memory-only sets resolve in microtasks: without a turn of the event loop now and
      // then the bus's publish (setImmediate) would never run during the burst, and the
      // run would measure one giant frame at the end. An application's writes arrive
      // from I/O, so it turns the loop anyway.
      if (n % 16 === 0) await nextTurn()
    },
    () => performance.now() >= deadline,
  )
  await writer.flush()
  const elapsed = performance.now() - started
  // CPU time does not count time spent descheduled while the reader, the server and other
  // processes run, so it shows the writer's own cost even on a busy 2-core machine.
  const cpu = process.cpuUsage(cpuBefore)
  if (writes < KEYS) throw new Error(`invalidation: only ${writes} writes; every key must change once`)
  return { writes, elapsed, cpu }
}

/** One row of the table: the writer's rate and what its backplane sent, and the reader's verdict. */
function outcomeOf(
  subject: string,
  burst: Awaited<ReturnType<typeof writeBurst>>,
  before: BackplaneStats,
  after: BackplaneStats,
  verified: WorkerMessage,
): Outcome {
  const { writes, elapsed, cpu } = burst
  return {
    subject,
    rate: (writes / elapsed) * 1000,
    cpuPerWrite: Math.round(((cpu.user + cpu.system) / writes) * 100) / 100,
    writes,
    messages: (after?.messagesSent ?? 0) - (before?.messagesSent ?? 0),
    frames: (after?.framesSent ?? 0) - (before?.framesSent ?? 0),
    overflows: (after?.overflows ?? 0) - (before?.overflows ?? 0),
    readerReads: verified.reads as number,
    cached: verified.cached as number,
    stale: verified.stale as number,
    examples: (verified.examples as string[]).join('; '),
  }
}

async function measure(
  choice: BackplaneChoice,
  redisUrl: string | undefined,
  durationMs: number,
): Promise<Outcome> {
  const cacheName = `bench-invalidation-${randomUUID().slice(0, 8)}`
  const keys = makeKeys(KEYS)
  const writer = await openWriter(cacheName, keys, choice, redisUrl)
  const worker = new WorkerProcess('invalidation-reader', {
    cacheName,
    keys,
    marker: MARKER,
    redisUrl,
    backplane: choice,
  })
  try {
    await worker.next('ready', 30_000)
    const before = writer.stats().backplane
    const burst = await writeBurst(writer, keys, durationMs)
    await writer.set(MARKER, { seq: -1 })
    await writer.flush()
    const after = writer.stats().backplane
    worker.send({ type: 'verify' })
    const verified = await worker.next('verified', 60_000)
    const label = choice.kind === 'redis' ? 'Redis pub/sub' : 'NATS'
    const subject = `${redisUrl === undefined ? 'memory' : 'memory + Redis'}, backplane ${label}`
    return outcomeOf(subject, burst, before, after, verified)
  } finally {
    await worker.stop()
    await writer.close()
  }
}

export const invalidation: Scenario = {
  name: 'invalidation',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const durationMs = context.quick ? 2_000 : 5_000
    const redisUrl = await context.servers.redis()
    const natsUrl = await context.servers.nats()
    const rows: Outcome[] = []
    for (const store of [redisUrl, undefined]) {
      for (const choice of [
        { kind: 'redis', url: redisUrl },
        { kind: 'nats', url: natsUrl },
      ] as const) {
        context.log(
          `invalidation: ${store === undefined ? 'memory' : 'memory + Redis'} over ${choice.kind}, ${durationMs / 1000} s`,
        )
        rows.push(await measure(choice, store, durationMs))
      }
    }
    const targets: TargetCheck[] = rows.map((row) => ({
      target: `invalidation (${row.subject}): >= 200,000 keys/s with the reader correct`,
      measured: `${Math.round(row.rate).toLocaleString('en-US')} keys/s, ${row.stale} stale of ${row.cached} copies left`,
      met: row.rate >= 200_000 && row.stale === 0,
    }))
    return {
      name: 'invalidation',
      title: 'Invalidation throughput',
      description: `This process changes keys (${CONCURRENCY} set() calls in flight, ${KEYS.toLocaleString('en-US')} keys round-robin) for ${durationMs / 1000} s while a worker process reads the same keys through its memory layer (100 gets per ms); then the worker checks its memory (over Redis: every copy equals Redis; memory only: every key changed, so none may be left). "writer CPU µs/write" is the writer process's CPU time (all threads) over the run divided by its writes: its own cost, unlike the rate not lowered by time spent waiting for a core. "messages" and "frames" are what the writer's backplane published (pending changes of one key are merged; an overflow collapses into one clear).`,
      columns: [
        { key: 'subject', title: 'setup' },
        { key: 'rate', title: 'keys changed/s', format: 'ops' },
        { key: 'cpuPerWrite', title: 'writer CPU µs/write' },
        { key: 'writes', title: 'writes', format: 'int' },
        { key: 'messages', title: 'messages', format: 'int' },
        { key: 'frames', title: 'frames', format: 'int' },
        { key: 'overflows', title: 'overflows', format: 'int' },
        { key: 'readerReads', title: 'reader gets', format: 'int' },
        { key: 'cached', title: 'copies left', format: 'int' },
        { key: 'stale', title: 'stale', format: 'int' },
      ],
      rows,
      targets,
    }
  },
}
