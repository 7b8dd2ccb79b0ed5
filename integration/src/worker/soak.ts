/**
 * The soak loop a worker runs by itself (no IPC per operation, so the load is real): random
 * reads and CAS writes over a small key space, logging what the staleness checker needs.
 */
import type { CacheManager } from '@cacheplane/core'
import type { SoakLog, SoakOptions, Value } from './protocol.js'

/** Invalidations seen while a soak runs; the worker's event listeners feed it. */
export class InvalidationLog {
  private keyIndex: Map<string, number> | undefined
  private entries: [number, number][] = []

  /** Starts recording invalidations of `keys`. */
  start(keys: readonly string[]): void {
    this.keyIndex = new Map(keys.map((key, index) => [key, index]))
    this.entries = []
  }

  /** A remote change of `key`, or of everything (`undefined`: a clear or a cleared gap). */
  record(key: string | undefined): void {
    if (this.keyIndex === undefined) return
    if (key === undefined) {
      this.entries.push([-1, Date.now()])
      return
    }
    const index = this.keyIndex.get(key)
    if (index !== undefined) this.entries.push([index, Date.now()])
  }

  /** Stops recording and returns what was recorded. */
  stop(): [number, number][] {
    this.keyIndex = undefined
    return this.entries
  }
}

/** Runs the soak for `options.durationMs` with `options.loops` concurrent loops. */
export async function runSoak(
  cache: CacheManager<Value>,
  workerId: string,
  options: SoakOptions,
  invalidations: InvalidationLog,
): Promise<SoakLog> {
  const { keys, durationMs, loops, writeRatio } = options
  const writes: [number, number, number, number][] = []
  const reads: [number, number, number, number][] = []
  const failures: Record<string, number> = {}
  invalidations.start(keys)
  const end = Date.now() + durationMs

  const loop = async (): Promise<void> => {
    while (Date.now() < end) {
      const index = Math.floor(Math.random() * keys.length)
      const key = keys[index] as string
      try {
        if (Math.random() < writeRatio) {
          const issuedAt = Date.now()
          // CAS makes versions grow per key in the source of truth, whoever writes.
          const stored = await cache.addOrUpdate(key, { v: 1, by: workerId }, (old) => ({
            v: old.v + 1,
            by: workerId,
          }))
          writes.push([index, stored.v, Date.now(), issuedAt])
        } else {
          const start = Date.now()
          const item = await cache.getItem(key)
          reads.push([index, item?.value.v ?? 0, start, item?.level ?? -1])
        }
      } catch (error) {
        const name = error instanceof Error ? error.name : 'unknown'
        failures[name] = (failures[name] ?? 0) + 1
      }
    }
  }
  await Promise.all(Array.from({ length: loops }, loop))
  // Late invalidations still count: the checker uses them to measure propagation.
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  return { writes, reads, invalidations: invalidations.stop(), failures }
}
