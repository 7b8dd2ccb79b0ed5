/**
 * Propagation with 10 caches sharing one backplane against one cache alone, measured as in
 * `propagation.ts` (write -> remote event -> new value read in another process, one write at
 * a time). Both sides of each run are an application instance: N caches on one backplane and
 * one Redis client; the writer rotates its writes over the N caches, so every channel of the
 * shared connection carries traffic. The two setups alternate in rounds, so drift of a busy
 * machine spreads over both.
 */
import { randomUUID } from 'node:crypto'
import { WorkerProcess } from '../child.js'
import type { BenchContext, Scenario } from '../context.js'
import { summarize } from '../percentiles.js'
import type { Cell, ScenarioResult } from '../results.js'
import type { BackplaneChoice } from '../roles/backplane-choice.js'
import { sharedCaches } from '../roles/shared-listener.js'
import { type Outcome, probe } from './propagation.js'

const SHARED = 10

async function measure(
  choice: BackplaneChoice,
  redisUrl: string,
  samples: number,
  count: number,
): Promise<Outcome> {
  const run = randomUUID().slice(0, 8)
  const cacheNames = Array.from({ length: count }, (_, i) => `bench-shared-${run}-${i}`)
  const key = 'hot'
  const worker = new WorkerProcess('shared-cache-listener', { cacheNames, key, redisUrl, backplane: choice })
  const writer = sharedCaches(cacheNames, redisUrl, choice)
  try {
    await worker.next('ready', 20_000)
    await Promise.all(writer.caches.map((cache) => cache.ready()))
    let turn = 0
    return await probe(worker, samples, (p) =>
      (writer.caches[turn++ % count] ?? writer.caches[0])!.set(key, p),
    )
  } finally {
    await writer.close()
    await worker.stop()
  }
}

function merge(into: Outcome, from: Outcome): void {
  into.event.push(...from.event)
  into.read.push(...from.read)
  into.write.push(...from.write)
  into.lost += from.lost
  into.stale += from.stale
}

const empty = (): Outcome => ({ event: [], read: [], write: [], lost: 0, stale: 0 })

export const sharedPropagation: Scenario = {
  name: 'shared-propagation',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const rounds = context.quick ? 2 : 4
    const samples = context.quick ? 300 : 1_000
    const redisUrl = await context.servers.redis()
    const rows: Array<Record<string, Cell>> = []
    const targets = []
    for (const choice of [
      { kind: 'redis', url: redisUrl },
      { kind: 'nats', url: await context.servers.nats() },
    ] as const) {
      const label = choice.kind === 'redis' ? 'Redis pub/sub' : 'NATS'
      const alone = empty()
      const shared = empty()
      for (let round = 0; round < rounds; round++) {
        context.log(`shared-propagation: ${label}, round ${round + 1}/${rounds}, ${samples} writes each`)
        merge(alone, await measure(choice, redisUrl, samples, 1))
        merge(shared, await measure(choice, redisUrl, samples, SHARED))
      }
      const [one, ten] = [summarize(alone.event), summarize(shared.event)]
      for (const [subject, outcome] of [
        [`1 cache over ${label}`, alone],
        [`${SHARED} caches sharing one backplane over ${label}`, shared],
      ] as const) {
        const event = summarize(outcome.event)
        const read = summarize(outcome.read)
        rows.push({
          subject,
          p50: event.p50,
          p99: event.p99,
          readP50: read.p50,
          readP99: read.p99,
          samples: event.count,
          lost: outcome.lost + outcome.stale,
        })
      }
      targets.push({
        target: `propagation over ${label}, ${SHARED} caches on one backplane vs one cache alone: p50 and p99 within 10%`,
        measured: `event p50 ${ten.p50.toFixed(3)} vs ${one.p50.toFixed(3)} ms (${((ten.p50 / one.p50 - 1) * 100).toFixed(1)}%), p99 ${ten.p99.toFixed(3)} vs ${one.p99.toFixed(3)} ms (${((ten.p99 / one.p99 - 1) * 100).toFixed(1)}%), lost ${shared.lost + shared.stale}`,
        met: ten.p50 <= one.p50 * 1.1 && ten.p99 <= one.p99 * 1.1 && shared.lost + shared.stale === 0,
      })
    }
    return {
      name: 'shared-propagation',
      title: `Propagation with ${SHARED} caches on one backplane`,
      description: `${rounds} alternating rounds of ${samples} sequential writes per setup and transport; the writer rotates over its caches. Times in ms from set() called to the remote set event (and to the new value read) in the other process, CLOCK_MONOTONIC.`,
      columns: [
        { key: 'subject', title: 'setup' },
        { key: 'p50', title: 'event p50 ms', format: 'ms' },
        { key: 'p99', title: 'event p99 ms', format: 'ms' },
        { key: 'readP50', title: 'read p50 ms', format: 'ms' },
        { key: 'readP99', title: 'read p99 ms', format: 'ms' },
        { key: 'samples', title: 'samples', format: 'int' },
        { key: 'lost', title: 'lost', format: 'int' },
      ],
      rows,
      targets,
    }
  },
}
