/** Shared steps of the backplane fault scenarios. */
import { expect } from 'vitest'
import { checkStaleness, describeResult } from './checker.js'
import type { Worker } from './harness.js'
import { type KeyLoad, pause } from './load.js'
import { waitFor } from '@cacheplane/core/testing'
import { slowSystem } from './slow-system.js'

/** True when `worker` reported a backplane gap after its event number `from`. */
export function gapsAfter(worker: Worker, from: number): boolean {
  return worker.events.slice(from).some((e) => e.name === 'backplane' && e.detail === 'gap')
}

/** True when the last backplane state `worker` reported after event number `from` is `connected`. */
export function connectedAfter(worker: Worker, from: number): boolean {
  const states = worker.events.slice(from).filter((e) => e.name === 'backplane' && e.detail === 'state')
  return states.at(-1)?.action === 'connected'
}

/** Keeps the load running a little, stops it, converges, then checks every read of the run. */
export async function finish(load: KeyLoad, writer: Worker, readers: Worker[], label: string): Promise<void> {
  await pause(1_000) // load keeps running after the recovery (an outcome is awaited below)
  await load.stop()
  const last = await load.write(writer)
  await waitFor(async () => (await Promise.all(readers.map((r) => load.read(r)))).every((v) => v === last), {
    ...slowSystem,
    timeoutMs: 20_000,
    message: `every reader to read the last acknowledged write (${last})`,
  })
  // Converged readers may have read the store before the last invalidations reached them: let
  // those arrive (every write's invalidation must, if only as a cleared gap) before checking.
  await waitFor(() => checkStaleness(load.logs()).undelivered === 0, {
    ...slowSystem,
    timeoutMs: 10_000,
    message: 'every write to be followed by an invalidation in every other process',
  }).catch(() => {})
  const result = checkStaleness(load.logs())
  console.log(describeResult(label, result))
  expect(result.violations).toEqual([])
  expect(result.undeliveredSamples).toEqual([])
  expect(result.reads).toBeGreaterThan(50)
}
