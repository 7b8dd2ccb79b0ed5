/**
 * The staleness checker. Versions grow per key in the source of truth. The property checked:
 * once a write of version v is acknowledged and the reader has then processed an invalidation of
 * that key (any remote change of it, a remote clear or a cleared gap; or the write was its own),
 * no read the reader starts afterwards returns a version below v.
 *
 * Times are `Date.now()` of one machine (one clock for every process), so they compare across
 * processes; at 1 ms resolution, "after" is tested as `>= t + 1`, which only ever skips a check,
 * never reports a violation that did not happen. Ack and read start times are taken in the worker
 * that did the operation; a time taken earlier for a read start only makes the check laxer.
 *
 * Delivery (every write's invalidation reaches every other process) counts an invalidation from
 * the write's issue time on, when the log has it: the message leaves once the store took the
 * write, so another process may apply it before the writer's `set` resolves and stamps the ack.
 */

/** What one process did and saw. Keys are small integers; -1 in invalidations means every key. */
export interface ProcessLog {
  readonly name: string
  /** [key, version, ack time, issue time (optional)] of this process's acknowledged writes. */
  readonly writes: readonly (readonly [number, number, number, number?])[]
  /** [key, version read (0 = miss), start time] of this process's reads. */
  readonly reads: readonly (readonly [number, number, number, ...number[]])[]
  /** [key or -1, time] of remote invalidations (and cleared gaps) this process processed. */
  readonly invalidations: readonly (readonly [number, number])[]
}

/** A read that returned an older version than an acknowledged, delivered write. */
export interface Violation {
  readonly reader: string
  readonly key: number
  readonly read: number
  readonly expectedAtLeast: number
  readonly readStart: number
}

/** Checker output. */
export interface CheckResult {
  readonly writes: number
  readonly reads: number
  readonly violations: readonly Violation[]
  /** Per write and other process: ms from the ack to that process's first later invalidation of the key. */
  readonly propagation: {
    readonly count: number
    readonly p50: number
    readonly p99: number
    readonly max: number
  }
  /** (write, other process) pairs with no invalidation of the key after the ack. */
  readonly undelivered: number
  /** The first few of those, for the failure message. */
  readonly undeliveredSamples: readonly { writer: string; reader: string; version: number; ackAt: number }[]
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

/** Finds the first time in `times` (sorted) that is >= `at`. */
function firstAtOrAfter(times: readonly number[], at: number): number | undefined {
  let low = 0
  let high = times.length
  while (low < high) {
    const mid = (low + high) >> 1
    if ((times[mid] as number) < at) low = mid + 1
    else high = mid
  }
  return times[low]
}

/** Checks every reader against every write. */
export function checkStaleness(logs: readonly ProcessLog[]): CheckResult {
  const violations: Violation[] = []
  const delays: number[] = []
  let undelivered = 0
  const undeliveredSamples: { writer: string; reader: string; version: number; ackAt: number }[] = []
  const keys = new Set<number>()
  for (const log of logs) for (const [key] of log.writes) keys.add(key)

  for (const reader of logs) {
    for (const key of keys) {
      const invalidations = reader.invalidations
        .filter(([k]) => k === key || k === -1)
        .map(([, at]) => at)
        .sort((a, b) => a - b)
      // [time from which the floor applies, version]
      const floors: [number, number][] = []
      for (const writer of logs) {
        for (const [k, version, ackAt, issuedAt] of writer.writes) {
          if (k !== key) continue
          if (writer === reader) {
            floors.push([ackAt + 1, version])
            continue
          }
          // Delivery counts an invalidation from the issue (else the ack's own millisecond) on; the floor does not.
          const delivered = firstAtOrAfter(invalidations, issuedAt ?? ackAt)
          if (delivered === undefined) {
            undelivered++
            if (undeliveredSamples.length < 5) {
              undeliveredSamples.push({ writer: writer.name, reader: reader.name, version, ackAt })
            }
            continue
          }
          delays.push(Math.max(0, delivered - ackAt))
          const after = firstAtOrAfter(invalidations, ackAt + 1)
          if (after !== undefined) floors.push([after + 1, version])
        }
      }
      floors.sort((a, b) => a[0] - b[0])
      const reads = reader.reads.filter(([k]) => k === key).sort((a, b) => a[2] - b[2])
      let floor = 0
      let next = 0
      for (const [, version, start] of reads) {
        while (next < floors.length && (floors[next] as [number, number])[0] <= start) {
          floor = Math.max(floor, (floors[next] as [number, number])[1])
          next++
        }
        if (version < floor) {
          violations.push({
            reader: reader.name,
            key,
            read: version,
            expectedAtLeast: floor,
            readStart: start,
          })
        }
      }
    }
  }
  delays.sort((a, b) => a - b)
  return {
    writes: logs.reduce((sum, log) => sum + log.writes.length, 0),
    reads: logs.reduce((sum, log) => sum + log.reads.length, 0),
    violations,
    propagation: {
      count: delays.length,
      p50: percentile(delays, 50),
      p99: percentile(delays, 99),
      max: delays.length === 0 ? Number.NaN : (delays[delays.length - 1] as number),
    },
    undelivered,
    undeliveredSamples,
  }
}

/** One line for the test output. */
export function describeResult(label: string, result: CheckResult): string {
  const { p50, p99, max, count } = result.propagation
  return (
    `${label}: ${result.writes + result.reads} operations (${result.writes} writes, ${result.reads} reads), ` +
    `${result.violations.length} staleness violations, ${result.undelivered} undelivered invalidations, ` +
    `propagation over ${count} deliveries p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`
  )
}
