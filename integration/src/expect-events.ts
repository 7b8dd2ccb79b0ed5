/** Helpers that wait, with a deadline, for what one process did to be seen by the others. */
import type { Worker } from './harness.js'
import type { WorkerEvent } from './worker/protocol.js'

/** Marks where each worker's event log is now, so later waits ignore older events. */
export function marks(workers: readonly Worker[]): number[] {
  return workers.map((worker) => worker.events.length)
}

/** Waits until every worker saw a remote `name` event for `key` (or the region, for clearRegion). */
export async function expectRemote(
  workers: readonly Worker[],
  from: readonly number[],
  name: string,
  target: { key?: string; region?: string | undefined } = {},
  timeoutMs = 10_000,
): Promise<WorkerEvent[]> {
  const what = `remote '${name}' ${JSON.stringify(target)}`
  return Promise.all(
    workers.map((worker, i) =>
      worker.waitEvent(
        (event) =>
          event.name === name &&
          event.origin === 'remote' &&
          (target.key === undefined || event.key === target.key) &&
          event.region === target.region,
        { from: from[i] ?? 0, timeoutMs, what },
      ),
    ),
  )
}
