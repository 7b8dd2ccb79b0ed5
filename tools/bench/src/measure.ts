/**
 * Rates with tinybench. A single memory-hit `get` takes tens of nanoseconds, less than
 * tinybench's own per-iteration timing, so every task runs a batch of operations per
 * iteration and the rate is `batch / mean iteration time` (total operations over total
 * time: the mean of per-iteration rates would overweight the fast iterations). Each task
 * is bounded by time; an iteration is a bounded batch.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Bench } from 'tinybench'

/** How long each task runs. */
export interface MeasureOptions {
  /** Measured time per task, ms. */
  readonly timeMs: number
  /** Warm-up time per task, ms (lets V8 optimise the loop first). */
  readonly warmupMs: number
  /**
   * Rounds over all tasks; each task's best round is kept. Interleaving the tasks and
   * keeping the best shields the ratios from load bursts of other processes on the
   * machine (a burst during one task's only slot would otherwise decide its ratio).
   */
  readonly rounds: number
  /**
   * `wall` (default) or `cpu`: this process's CPU time (user + system, all threads). For
   * loops that never wait on I/O, CPU time is what they would take on an idle core: time
   * spent descheduled while other processes run does not count, so the ratios hold on a
   * busy machine. Never for loops that wait on a server (their waiting would vanish).
   */
  readonly clock?: 'wall' | 'cpu'
}

/** A full collection (V8's `gc`, reached without `--expose-gc` on the command line). */
const fullCollection = (() => {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
})()

/** Before a task's measured run (not its warm-up): a full collection, so no task inherits another's garbage. */
function collectBeforeRun(mode?: 'run' | 'warmup'): void {
  if (mode === 'run') fullCollection()
}

/** Process CPU time in ms (tinybench's `now`). */
function cpuNow(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/** A task: one call runs `batch` operations. */
export interface BatchTask {
  readonly name: string
  readonly batch: number
  /** `sync` calls, or calls awaited one by one. */
  readonly loop: 'sync' | 'awaited'
  readonly run: () => unknown
}

/** Runs the tasks one after another in one Bench; returns operations per second by name. */
export async function measureRates(
  tasks: readonly BatchTask[],
  options: MeasureOptions,
): Promise<Map<string, number>> {
  const rates = new Map<string, number>()
  for (let round = 0; round < options.rounds; round++) {
    const bench = new Bench({
      time: options.timeMs,
      warmupTime: options.warmupMs,
      // Minimums, not caps: tinybench stops when both the time and the count are reached.
      iterations: 5,
      warmupIterations: 5,
      throws: true,
      ...(options.clock === 'cpu' ? { now: cpuNow } : {}),
    })
    const start = round % tasks.length
    for (const task of [...tasks.slice(start), ...tasks.slice(0, start)])
      bench.add(task.name, task.run as () => void, { beforeAll: collectBeforeRun })
    await bench.run()
    for (const task of tasks) {
      const result = bench.getTask(task.name)?.result
      if (result === undefined || !('latency' in result))
        throw new Error(`bench task '${task.name}' produced no result`)
      const rate = (1000 / result.latency.mean) * task.batch
      rates.set(task.name, Math.max(rate, rates.get(task.name) ?? 0))
    }
  }
  return rates
}

/**
 * Runs `total` calls of `op` with `concurrency` of them in flight at any time (each
 * worker awaits its call before the next), like `concurrency` request handlers; stops
 * early once `stop` returns true. Returns how many calls were started.
 */
export async function runConcurrent(
  concurrency: number,
  total: number,
  op: (index: number) => Promise<unknown>,
  stop: () => boolean = () => false,
): Promise<number> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < total && !stop()) {
      const index = next++
      await op(index)
    }
  }
  const workers: Promise<void>[] = []
  for (let i = 0; i < concurrency; i++) workers.push(worker())
  await Promise.all(workers)
  return next
}

/** Operations per tinybench iteration at each concurrency of the keyed scenarios. */
const OPS_PER_ITERATION = { 1: 200, 64: 512 } as const

/**
 * A task running `op` on consecutive key indexes (wrapping at `keyCount`), `concurrency`
 * calls in flight, each iteration continuing where the last one stopped.
 */
export function keyedTask(
  name: string,
  concurrency: 1 | 64,
  keyCount: number,
  op: (index: number) => Promise<unknown>,
): BatchTask {
  let cursor = 0
  const ops = OPS_PER_ITERATION[concurrency]
  return {
    name: `${name} @${concurrency}`,
    batch: ops,
    loop: 'awaited',
    run: async () => {
      const base = cursor
      cursor = (cursor + ops) % keyCount
      await runConcurrent(concurrency, ops, (i) => op((base + i) % keyCount))
    },
  }
}
