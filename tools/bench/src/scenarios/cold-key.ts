/**
 * A cold key across 8 processes (issue 14): every instance asks for it at the same moment,
 * 10 callers each, and its factory takes 20 ms. With `distributedLock` one instance runs the
 * factory and the others wait for its backplane message; without it every instance runs its
 * own. Measured per round: from the shared start to the moment the last caller of the last
 * instance had its value, against the factory's own time, and the factory calls.
 */
import { randomUUID } from 'node:crypto'
import { WorkerProcess } from '../child.js'
import type { BenchContext, Scenario } from '../context.js'
import { monotonicMs, summarize } from '../percentiles.js'
import type { Cell, ScenarioResult, TargetCheck } from '../results.js'
import type { BackplaneChoice } from '../roles/backplane-choice.js'

const INSTANCES = 8
const CALLERS = 10
const FACTORY_MS = 20
/** Rounds start this far ahead, so every instance has the `go` before the start time. */
const LEAD_MS = 30

/** What the rounds of one setup measured. */
interface Rounds {
  /** Start -> last caller's value, ms, per round. */
  readonly lastValue: number[]
  /** The holder's value -> the last caller's value, ms (rounds with one factory call only). */
  readonly afterHolder: number[]
  /** The factory's own time (the slowest factory of the round), ms. */
  readonly factory: number[]
  /** Factory calls over every round. */
  factoryCalls: number
  /** distributedLock events by kind (`woken:message`, `woken:check`, `takeover`, ...). */
  readonly wakes: Record<string, number>
}

async function runRounds(workers: readonly WorkerProcess[], rounds: number): Promise<Rounds> {
  const result: Rounds = { lastValue: [], afterHolder: [], factory: [], factoryCalls: 0, wakes: {} }
  for (let round = 0; round < rounds; round++) {
    const key = `cold-${round}-${randomUUID().slice(0, 8)}`
    const at = monotonicMs() + LEAD_MS
    for (const worker of workers) worker.send({ type: 'go', key, at })
    const done = await Promise.all(workers.map((worker) => worker.next('done', 10_000)))
    const last = Math.max(...done.map((d) => d.end as number))
    result.lastValue.push(last - at)
    const holders = done.filter((d) => (d.factoryCalls as number) > 0)
    if (holders.length === 1) result.afterHolder.push(last - (holders[0]!.end as number))
    result.factory.push(Math.max(...done.map((d) => d.factoryMs as number)))
    for (const d of done) {
      result.factoryCalls += d.factoryCalls as number
      for (const [kind, count] of Object.entries(d.wakes as Record<string, number>))
        result.wakes[kind] = (result.wakes[kind] ?? 0) + count
    }
  }
  return result
}

async function measure(
  redisUrl: string,
  backplane: BackplaneChoice,
  lock: boolean,
  rounds: number,
): Promise<Rounds> {
  const cacheName = `bench-cold-${randomUUID().slice(0, 8)}`
  const config = { cacheName, redisUrl, backplane, lock, factoryMs: FACTORY_MS, callers: CALLERS }
  const workers = Array.from({ length: INSTANCES }, () => new WorkerProcess('cold-loader', config))
  try {
    await Promise.all(workers.map((worker) => worker.next('ready', 120_000)))
    await runRounds(workers, 5) // warm-up: connections, scripts, JIT
    return await runRounds(workers, rounds)
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()))
  }
}

function wakesText(wakes: Record<string, number>): string {
  const entries = Object.entries(wakes).sort()
  return entries.length === 0 ? '-' : entries.map(([kind, count]) => `${kind} ${count}`).join(', ')
}

export const coldKey: Scenario = {
  name: 'cold-key',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const rounds = context.quick ? 30 : 200
    const redisUrl = await context.servers.redis()
    const natsUrl = await context.servers.nats()
    const rows: Array<Record<string, Cell>> = []
    const targets: TargetCheck[] = []
    for (const choice of [
      { kind: 'redis', url: redisUrl },
      { kind: 'nats', url: natsUrl },
    ] as const) {
      const label = choice.kind === 'redis' ? 'Redis pub/sub' : 'NATS'
      for (const lock of [true, false]) {
        context.log(`cold-key: ${label}, distributedLock ${lock}, ${rounds} rounds`)
        const measured = await measure(redisUrl, choice, lock, rounds)
        const last = summarize(measured.lastValue)
        const factory = summarize(measured.factory)
        const after = summarize(measured.afterHolder)
        rows.push({
          subject: `memory + Redis + ${label}, distributedLock ${lock ? 'on' : 'off'}`,
          p50: last.p50,
          p99: last.p99,
          factoryP50: factory.p50,
          afterP50: lock ? after.p50 : '-',
          afterP99: lock ? after.p99 : '-',
          calls: (measured.factoryCalls / rounds).toFixed(2),
          wakes: wakesText(measured.wakes),
        })
        if (!lock) continue
        targets.push({
          target: `cold key over ${label}: one factory call per round; last value p99 <= factory + 2 ms`,
          measured: `${measured.factoryCalls} calls in ${rounds} rounds; last value p50 ${last.p50.toFixed(2)} ms, p99 ${last.p99.toFixed(2)} ms; factory p50 ${factory.p50.toFixed(2)} ms, p99 ${factory.p99.toFixed(2)} ms; holder's value -> last waiter's p50 ${after.p50.toFixed(2)} ms, p99 ${after.p99.toFixed(2)} ms`,
          met: measured.factoryCalls === rounds && last.p99 <= factory.p99 + 2,
        })
      }
    }
    return {
      name: 'cold-key',
      title: 'A cold key across 8 processes',
      description: `${rounds} rounds (after 5 warm-up rounds). Each round, ${INSTANCES} processes (memory + Redis + backplane) start ${CALLERS} concurrent getOrAdd of a new key at one shared CLOCK_MONOTONIC instant; the factory takes ${FACTORY_MS} ms (a timer: measured as "factory"). "last value" runs from that instant to the moment the last caller of the last process had its value; "holder -> last waiter" runs from the moment the process that ran the factory had its value to the last caller's value (the message and the waiter's read); "calls" is factory calls per round; "wakes" counts how waiters got the value (woken by the holder's message, or by the fallback check, 1 s here).`,
      columns: [
        { key: 'subject', title: 'setup' },
        { key: 'p50', title: 'last value p50 ms', format: 'ms' },
        { key: 'p99', title: 'last value p99 ms', format: 'ms' },
        { key: 'factoryP50', title: 'factory p50 ms', format: 'ms' },
        { key: 'afterP50', title: 'holder -> last waiter p50 ms', format: 'ms' },
        { key: 'afterP99', title: 'holder -> last waiter p99 ms', format: 'ms' },
        { key: 'calls', title: 'factory calls / round' },
        { key: 'wakes', title: 'wakes' },
      ],
      rows,
      targets,
    }
  },
}
