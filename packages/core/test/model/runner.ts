/**
 * Runs one history: starts the instances, applies its steps (each followed by settling the
 * event loop), then drains every pending task oldest first, reads every key on every
 * instance, drains again, and checks the record. A history never waits on a real timer;
 * its clock is `Date.now()` replaced by a model clock that only the history's steps move.
 */
import type { CacheManagerOptions } from '../../src/cache-manager.js'
import { checkHistory } from './checker.js'
import { type Cluster, type ModelContext, type StoreSetup, startCluster } from './cluster.js'
import { type History, type Operation, SLOTS, type Step } from './history.js'
import { startOp, type TtlMode } from './operations.js'
import { Recorder } from './record.js'
import { Scheduler } from './scheduler.js'
import { StoreModel } from './store-model.js'

/** Most tasks a drain runs before the history is reported as not settling. */
const MAX_DRAIN = 5_000

/** Replaces `Date.now` with a clock the history steps; returns the function that restores it. */
function modelClock(): { advance(ms: number): void; restore(): void } {
  const real = Date.now
  let now = real()
  Date.now = () => now
  return {
    advance: (ms) => {
      now += ms
    },
    restore: () => {
      Date.now = real
    },
  }
}

interface Run extends ModelContext {
  readonly cluster: Cluster
  readonly instances: number
  readonly ordered: boolean
  /** Writes carry the model's tag (see History.untagged). */
  readonly tagged: boolean
  /** How writes with a TTL expire. */
  readonly mode: TtlMode
  readonly clock: { advance(ms: number): void } | undefined
}

async function apply(run: Run, step: Step): Promise<void> {
  const { scheduler, record, cluster, instances } = run
  if (step.kind === 'op')
    startOp(record, scheduler, cluster.managers, step.instance % instances, step.op, run.tagged, run.mode)
  else if (step.kind === 'run' || step.kind === 'fault')
    await scheduler.take(step.pick, run.ordered)?.run(step.kind === 'fault')
  // Unordered: a request that timed out may land after any later one (a connection pool), and
  // nothing tells its caller when it can no longer land: no promise to check there.
  else if (step.kind === 'timeout') {
    if (run.ordered) scheduler.timeOut(step.pick)
  } else if (step.kind === 'cut') cluster.hub.cut(step.instance % instances, step.replay)
  else if (run.clock !== undefined) {
    run.clock.advance(step.ms)
    record.log(`clock +${step.ms}ms`)
  }
  await scheduler.settle()
}

/** Runs the pending tasks until none is left: picked by `picks`, then oldest first. */
async function drain(run: Run, picks: readonly number[] = []): Promise<void> {
  for (let n = 0; run.scheduler.pending.length > 0; n++) {
    if (n === MAX_DRAIN) {
      run.record.violate('hang', `still ${run.scheduler.pending.length} tasks pending after ${MAX_DRAIN} ran`)
      return
    }
    await run.scheduler.take(picks[n] ?? 0, run.ordered)!.run(false)
    await run.scheduler.settle()
  }
}

/**
 * Reads every key on every instance once nothing is in flight, twice (every read is checked).
 * A read may miss by design while it straddles a drop of the stamps (a stamp found lost acts
 * as a clear heard), so what every instance reads must match the store (convergence, see
 * `lost-writes.ts`) from the second round on, once the first has settled what it set off. The
 * second round reads through `peek` and `getMany` too: each path must converge.
 */
async function readEverything(run: Run): Promise<void> {
  run.record.log('-- quiet: every instance reads every key --')
  await readRound(run)
  run.record.log('-- quiet, again: every instance reads what the store holds --')
  run.record.settled = new Map(SLOTS.map((slot) => [slot, run.model.settled(slot)]))
  run.record.quietFrom = run.record.ops.length + 1
  // Failed store calls in a row open an instance's circuit; the model's clock never reaches
  // its reset, so its reads fail fast and miss: it takes the store for down, by design.
  run.record.circuitOpen = new Set(
    run.cluster.managers.flatMap((manager, i) => {
      const handles = Object.values(manager.stats().handles)
      return handles.some((stats) => stats.circuit !== 'closed') ? [i] : []
    }),
  )
  await readRound(run, true)
}

/** Every instance gets every key; with `everyPath`, it also peeks each and gets them with getMany. */
async function readRound(run: Run, everyPath = false): Promise<void> {
  const start = (instance: number, op: Operation) =>
    startOp(run.record, run.scheduler, run.cluster.managers, instance, op)
  for (let instance = 0; instance < run.instances; instance++) {
    for (const slot of SLOTS) start(instance, { kind: 'get', slot })
    if (!everyPath) continue
    for (const slot of SLOTS) start(instance, { kind: 'peek', slot })
    start(instance, { kind: 'getMany', slots: ['a', 'b'] })
    start(instance, { kind: 'getMany', slots: ['r/a'] })
  }
  await run.scheduler.settle()
  await drain(run)
}

/** Runs `history` against `setup`; resolves with its record (violations included). */
export async function runHistory(
  history: History,
  setup: StoreSetup,
  managerOptions: Partial<CacheManagerOptions> = {},
  mode: TtlMode = 'absolute',
): Promise<Recorder> {
  const clock = setup.clock ? modelClock() : undefined
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  const record = new Recorder(Date.now())
  const scheduler = new Scheduler()
  const context = { scheduler, record, model: new StoreModel(record) }
  const store = await setup.open(history.instances)
  const announceWithWrite = !history.unordered && history.announceWithWrite === true
  record.announceWithWrite = announceWithWrite
  const cluster = await startCluster(history.instances, store, context, managerOptions, announceWithWrite)
  const run: Run = {
    ...context,
    cluster,
    instances: history.instances,
    ordered: !history.unordered,
    clock,
    tagged: history.untagged !== true,
    mode,
  }
  try {
    for (const step of history.steps) await apply(run, step)
    record.log('-- end of steps: every pending task runs --')
    await drain(run, history.drain)
    await readEverything(run)
    checkHistory(record)
    await new Promise<void>((resolve) => setImmediate(resolve))
    for (const reason of unhandled) record.violate('unhandled-rejection', String(reason))
  } finally {
    scheduler.discard(() => true)
    await cluster.close()
    process.off('unhandledRejection', onUnhandled)
    clock?.restore()
  }
  return record
}
