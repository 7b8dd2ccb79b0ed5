// What the write-path drivers share: the bench's keys and small objects (from the built
// bench, tools/bench/dist), and a load that keeps `concurrency` calls in flight for a while.
import { KEY_COUNT, makeKeys, smallObject } from '../dist/fixtures.js'

export { KEY_COUNT }
export const keys = makeKeys(KEY_COUNT)
export const values = keys.map((_, i) => smallObject(i))

/**
 * Calls `op(i)` (i over the keys, round-robin) with `concurrency` calls in flight for `ms`;
 * returns how many completed, the wall time and the process CPU time they took (us).
 */
export async function keyedLoad(op, concurrency, ms) {
  let next = 0
  let done = 0
  const end = performance.now() + ms
  const worker = async () => {
    while (performance.now() < end) {
      await op(next++ % KEY_COUNT)
      done++
    }
  }
  const start = performance.now()
  const cpu = process.cpuUsage()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const used = process.cpuUsage(cpu)
  return { done, wallMs: performance.now() - start, cpuUs: used.user + used.system }
}
