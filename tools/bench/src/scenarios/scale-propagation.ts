/**
 * How propagation grows with the number of instances: this process writes through a
 * CacheManager (memory + Redis + backplane) while 1, 3, 7 or 15 worker processes with the
 * same setup listen (2, 4, 8, 16 instances), on Redis pub/sub and on NATS.
 *
 * - Latency: one probe write at a time; each listener reads the key when it hears of the
 *   change; a sample is write start -> new value read, per listener. The next probe starts
 *   when every listener has reported, so a lost message shows as a timeout.
 * - Throughput: 64 writes in flight over distinct keys for a fixed time; the rate is the
 *   number of invalidations the writer published over the time until the slowest listener
 *   had applied them all (every instance has caught up, not just the writer).
 */
import { randomUUID } from 'node:crypto'
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { WorkerProcess } from '../child.js'
import type { BenchContext, Scenario } from '../context.js'
import type { ChartPanel } from '../svg-chart.js'
import { makeKeys } from '../fixtures.js'
import { runConcurrent } from '../measure.js'
import { monotonicMs, summarize } from '../percentiles.js'
import type { Cell, ScenarioResult } from '../results.js'
import { type BackplaneChoice, createBackplane } from '../roles/backplane-choice.js'

const PROBE_KEY = 'probe'
const DEADLINE_MS = 5_000
const KEYS = 10_000
const CONCURRENCY = 64

interface Setup {
  readonly writer: CacheManager<unknown>
  readonly listeners: WorkerProcess[]
}

async function start(choice: BackplaneChoice, redisUrl: string, instances: number): Promise<Setup> {
  const cacheName = `bench-scale-${randomUUID().slice(0, 8)}`
  const listeners = Array.from(
    { length: instances - 1 },
    () =>
      new WorkerProcess('count-listener', { cacheName, redisUrl, backplane: choice, probeKey: PROBE_KEY }),
  )
  const writer = new CacheManager<unknown>({
    name: cacheName,
    handles: [memoryHandle({ maxEntries: KEYS * 2 }), redisHandle({ url: redisUrl })],
    backplane: createBackplane(choice),
  })
  await Promise.all(listeners.map((w) => w.next('ready', 30_000)))
  await writer.ready()
  return { writer, listeners }
}

/** Write start -> new value read at each listener, ms; `stale` counts reads of an older probe. */
async function latencies(setup: Setup, samples: number): Promise<{ samples: number[]; stale: number }> {
  const out: number[] = []
  let stale = 0
  for (let seq = 1; seq <= samples + 10; seq++) {
    const t0 = monotonicMs()
    await setup.writer.set(PROBE_KEY, { seq, t0 })
    for (const listener of setup.listeners) {
      const seen = await listener.next('seen', DEADLINE_MS)
      if (seen.seq !== seq) stale++
      else if (seq > 10) out.push((seen.tr as number) - t0) // the first 10 warm up
    }
  }
  return { samples: out, stale }
}

/** Invalidations per second until every listener applied them all. */
async function throughput(setup: Setup, durationMs: number): Promise<number> {
  const keys = makeKeys(KEYS)
  const before = setup.writer.stats().backplane?.messagesSent ?? 0
  const started = monotonicMs()
  const deadline = performance.now() + durationMs
  await runConcurrent(
    CONCURRENCY,
    100_000_000,
    (n) => setup.writer.set(keys[n % KEYS] as string, n),
    () => performance.now() >= deadline,
  )
  await setup.writer.flush()
  const sent = (setup.writer.stats().backplane?.messagesSent ?? 0) - before
  let last = started
  for (const listener of setup.listeners) {
    const until = Date.now() + 30_000
    for (;;) {
      listener.send({ type: 'report' })
      const report = await listener.next('count', DEADLINE_MS)
      if ((report.count as number) >= sent) {
        last = Math.max(last, report.last as number)
        break
      }
      if (Date.now() > until) throw new Error(`scale: a listener applied ${report.count} of ${sent}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return (sent / (last - started)) * 1000
}

async function measure(
  choice: BackplaneChoice,
  redisUrl: string,
  instances: number,
  quick: boolean,
): Promise<Record<string, Cell>> {
  const setup = await start(choice, redisUrl, instances)
  try {
    const probe = await latencies(setup, quick ? 30 : 200)
    const rate = await throughput(setup, quick ? 1_000 : 3_000)
    const summary = summarize(probe.samples)
    return {
      backplane: choice.kind === 'redis' ? 'Redis pub/sub' : 'NATS',
      instances,
      p50: summary.p50,
      p99: summary.p99,
      rate,
      stale: probe.stale,
    }
  } finally {
    await setup.writer.close()
    await Promise.all(setup.listeners.map((w) => w.stop()))
  }
}

/** One panel per measure and backplane: p50, p99 (ms) and invalidations per second, by instances. */
function curvePanels(rows: ReadonlyArray<Record<string, Cell>>): ChartPanel[] {
  const measures = [
    { key: 'p50', title: 'propagation p50', unit: 'ms' },
    { key: 'p99', title: 'propagation p99', unit: 'ms' },
    { key: 'rate', title: 'invalidations per second, all caught up', unit: 'keys/s' },
  ] as const
  return measures.flatMap((measure) =>
    ['Redis pub/sub', 'NATS'].map((backplane) => ({
      title: `${measure.title}, ${backplane}, by instances`,
      unit: measure.unit,
      bars: rows
        .filter((row) => row.backplane === backplane)
        .map((row) => ({
          label: `${row.instances} instances`,
          value: row[measure.key] as number,
          ours: true,
        })),
    })),
  )
}

export const scalePropagation: Scenario = {
  name: 'scale-propagation',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const redisUrl = await context.servers.redis()
    const natsUrl = await context.servers.nats()
    const sizes = context.quick ? [2, 4] : [2, 4, 8, 16]
    const rows: Array<Record<string, Cell>> = []
    for (const choice of [
      { kind: 'redis', url: redisUrl },
      { kind: 'nats', url: natsUrl },
    ] as const) {
      for (const instances of sizes) {
        context.log(`scale-propagation: ${instances} instances over ${choice.kind}`)
        rows.push(await measure(choice, redisUrl, instances, context.quick))
      }
    }
    return {
      name: 'scale-propagation',
      title: 'Propagation and invalidation rate against the number of instances',
      description: `One writer process and N-1 listener processes, each memory + Redis + backplane. Latency: a probe write at a time, write start -> new value read at each listener (all listeners' samples together). Rate: ${CONCURRENCY} writes in flight over ${KEYS.toLocaleString('en-US')} keys; the invalidations published over the time until the slowest listener applied them all. Every process shares the machine's cores, so the rate falls with N partly because the listeners compete with the writer for CPU.`,
      columns: [
        { key: 'backplane', title: 'backplane' },
        { key: 'instances', title: 'instances', format: 'int' },
        { key: 'p50', title: 'p50 ms', format: 'ms' },
        { key: 'p99', title: 'p99 ms', format: 'ms' },
        { key: 'rate', title: 'invalidations/s (all caught up)', format: 'ops' },
        { key: 'stale', title: 'stale reads', format: 'int' },
      ],
      rows,
      targets: [],
      charts: curvePanels(rows),
    }
  },
}
