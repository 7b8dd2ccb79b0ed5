/**
 * Connections a process holds for its backplane with 1, 10 and 100 caches: one backplane
 * shared by every cache (the recommended setup) against one backplane per cache. Counted
 * in this process as open TCP sockets (`process.getActiveResourcesInfo()`), after every
 * cache is subscribed; the caches are memory-only, so every socket is the backplane's.
 */
import { randomUUID } from 'node:crypto'
import { type Backplane, CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import type { BenchContext, Scenario } from '../context.js'
import type { Cell, ScenarioResult, TargetCheck } from '../results.js'
import { type BackplaneChoice, createBackplane } from '../roles/backplane-choice.js'

const COUNTS = [1, 10, 100] as const

const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length

/** Polls until `condition` holds; throws after `timeoutMs`. */
async function settle(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`connections: ${what} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * The socket count once it has not changed for 200 ms: a connection closed just before (a
 * server's startup probe, the previous measurement) leaves the resource list a moment later.
 */
async function steadySockets(): Promise<number> {
  let last = sockets()
  for (let still = 0; still < 10; ) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    const now = sockets()
    still = now === last ? still + 1 : 0
    last = now
  }
  return last
}

/** Sockets opened for `count` caches on one backplane (`shared`) or on one each. */
async function measure(choice: BackplaneChoice, count: number, shared: boolean): Promise<number> {
  const baseline = await steadySockets()
  const run = randomUUID().slice(0, 8)
  const one = shared ? createBackplane(choice) : undefined
  const caches = Array.from(
    { length: count },
    (_, i) =>
      new CacheManager<string>({
        name: `bench-connections-${run}-${i}`,
        handles: [memoryHandle({ maxEntries: 10 })],
        backplane: one ?? (createBackplane(choice) as Backplane),
      }),
  )
  try {
    await Promise.all(caches.map((cache) => cache.ready()))
    return sockets() - baseline
  } finally {
    await Promise.all(caches.map((cache) => cache.close()))
    await settle(() => sockets() <= baseline, 'the backplane connections did not close with the last cache')
  }
}

export const connections: Scenario = {
  name: 'connections',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const rows: Array<Record<string, Cell>> = []
    const targets: TargetCheck[] = []
    for (const choice of [
      { kind: 'redis', url: await context.servers.redis() },
      { kind: 'nats', url: await context.servers.nats() },
    ] as const) {
      const label = choice.kind === 'redis' ? 'redisBackplane' : 'natsBackplane'
      const measured: Record<string, number[]> = { shared: [], each: [] }
      for (const shared of [true, false]) {
        const row: Record<string, Cell> = {
          subject: `${label}, ${shared ? 'one shared by every cache' : 'one per cache'}`,
        }
        for (const count of COUNTS) {
          context.log(`connections: ${label}, ${count} cache(s), ${shared ? 'shared' : 'one each'}`)
          const opened = await measure(choice, count, shared)
          row[`c${count}`] = opened
          measured[shared ? 'shared' : 'each']?.push(opened)
        }
        rows.push(row)
      }
      const sharedCounts = measured.shared ?? []
      targets.push({
        target: `connections per process with 1, 10, 100 caches on one ${label}: constant`,
        measured: `${sharedCounts.join(' / ')} (one backplane per cache: ${(measured.each ?? []).join(' / ')})`,
        met: sharedCounts.every((n) => n === sharedCounts[0]),
      })
    }
    return {
      name: 'connections',
      title: 'Backplane connections per process',
      description:
        "TCP connections this process holds once every cache is subscribed (memory-only caches, so every connection is the backplane's), with one backplane object shared by all caches or one per cache.",
      columns: [
        { key: 'subject', title: 'backplane' },
        ...COUNTS.map((count) => ({
          key: `c${count}`,
          title: `${count} cache${count === 1 ? '' : 's'}`,
          format: 'int' as const,
        })),
      ],
      rows,
      targets,
    }
  },
}
