/**
 * Soak: 3 processes doing random reads and CAS writes over a small key space. Every write makes the
 * key's version grow in the source of truth; the checker then verifies that once a write was
 * acknowledged and an invalidation of its key reached a process, that process never read an older
 * version (see src/checker.ts). Prints operations, violations and propagation percentiles.
 */
import { randomKey } from '@cacheplane/core/testing'
import { describe, expect, it } from 'vitest'
import { checkStaleness, describeResult, type ProcessLog } from '../src/checker.js'
import { WorkerPool } from '../src/harness.js'
import { memcachedNatsTopology, redisTopology } from '../src/topologies.js'
import type { SoakLog } from '../src/worker/protocol.js'

const pool = new WorkerPool()

describe.each([
  { topology: redisTopology(), durationMs: 30_000 },
  { topology: memcachedNatsTopology(), durationMs: 15_000 },
])('$topology.label', ({ topology, durationMs }) => {
  it(`soak: 3 processes, random reads and writes, no stale read after a delivered invalidation`, async () => {
    const workers = await pool.spawnMany(3, { cacheName: randomKey('soak'), topology })
    const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`)
    const options = { keys, durationMs, loops: 2, writeRatio: 0.3 }
    const soakLogs = (await Promise.all(
      workers.map((w) => w.call({ op: 'soak', options }, durationMs + 60_000)),
    )) as SoakLog[]

    const logs: ProcessLog[] = soakLogs.map((log, i) => ({ name: workers[i]?.name ?? `w${i}`, ...log }))
    const result = checkStaleness(logs)
    const reads = soakLogs.flatMap((log) => log.reads)
    const fromMemory = reads.filter((read) => read[3] === 0).length
    console.log(
      `${describeResult(`soak ${durationMs / 1_000} s (${topology.label})`, result)}; ` +
        `${((100 * fromMemory) / Math.max(1, reads.length)).toFixed(1)}% of reads answered from memory`,
    )
    // Reads must exercise the memory layer, or the check would be trivially true.
    expect(fromMemory).toBeGreaterThan(reads.length / 10)
    expect(soakLogs.map((log) => log.failures)).toEqual([{}, {}, {}])
    expect(result.violations.slice(0, 5)).toEqual([])
    expect(result.undelivered).toBe(0)
    // Every process worked through the whole run.
    for (const log of soakLogs) expect(log.writes.length + log.reads.length).toBeGreaterThan(durationMs / 100)
  })
})
