/**
 * What the memory handle's eviction costs and keeps, against lru-cache (an exact LRU) of the
 * same size (10,000 items):
 * - the rate of `set` with a new key into a full cache, so that every set evicts one item
 *   (a synchronous loop on process CPU time, as in memory-hit);
 * - the hit ratio over fixed, seeded traces of reads, a miss being followed by a set as an
 *   application's read-through does: two Zipf-distributed key popularities over a million
 *   keys, and a hot set of 5,000 keys read between as many keys read once (a scan).
 * The handle keeps recency as CLOCK does, not as an exact list (see `@cacheplane/memory`);
 * the ratios show what that approximation keeps.
 */
import { memoryHandle } from '@cacheplane/memory'
import { LRUCache } from 'lru-cache'
import type { BenchContext, Scenario } from '../context.js'
import { KEY_COUNT, type SmallObject, smallObject } from '../fixtures.js'
import { type BatchTask, measureRates } from '../measure.js'
import type { Cell, ScenarioResult } from '../results.js'

const BATCH = 1_000
/** Keys the set loop cycles through: five times the capacity, so each set is of an absent key. */
const SET_KEYS = KEY_COUNT * 5
/** Reads per trace. */
const TRACE_LENGTH = 1_000_000

/** The two caches, behind the two calls a read-through makes. */
interface Subject {
  readonly name: string
  make(): { get(key: string): unknown; set(key: string, value: SmallObject): void }
}

const subjects: readonly Subject[] = [
  {
    name: 'lru-cache (exact LRU)',
    make() {
      const lru = new LRUCache<string, SmallObject>({ max: KEY_COUNT })
      return { get: (key) => lru.get(key), set: (key, value) => lru.set(key, value) }
    },
  },
  {
    name: 'memory handle',
    make() {
      const handle = memoryHandle<SmallObject>({ maxEntries: KEY_COUNT, sweepIntervalMs: 0 })
      const created = Date.now()
      return {
        get: (key) => handle.get(key, undefined),
        set: (key, value) =>
          handle.set(key, undefined, { value, mode: 'none', ttl: 0, expiresAt: 0, created }),
      }
    },
  },
]

/** A seeded generator (xorshift32): the traces are the same in every run. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

/** Keys drawn with Zipf popularity `s` over `universe` keys. */
function zipfTrace(s: number, universe: number, seed: number): string[] {
  const next = random(seed)
  const cumulative = new Float64Array(universe)
  let sum = 0
  for (let i = 0; i < universe; i++) {
    sum += 1 / (i + 1) ** s
    cumulative[i] = sum
  }
  const trace = new Array<string>(TRACE_LENGTH)
  for (let j = 0; j < TRACE_LENGTH; j++) {
    const u = next() * sum
    let lo = 0
    let hi = universe - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cumulative[mid] as number) < u) lo = mid + 1
      else hi = mid
    }
    trace[j] = `zipf:${lo}`
  }
  return trace
}

/** Half the reads of 5,000 hot keys (uniformly), half of keys read once. */
function scanTrace(seed: number): string[] {
  const next = random(seed)
  const trace = new Array<string>(TRACE_LENGTH)
  for (let j = 0; j < TRACE_LENGTH; j++)
    trace[j] = next() < 0.5 ? `hot:${Math.floor(next() * 5_000)}` : `once:${j}`
  return trace
}

const traces: ReadonlyArray<{ readonly key: string; readonly title: string; make(): string[] }> = [
  { key: 'zipf08', title: 'hit ratio, Zipf 0.8', make: () => zipfTrace(0.8, 1_000_000, 7) },
  { key: 'zipf10', title: 'hit ratio, Zipf 1.0', make: () => zipfTrace(1.0, 1_000_000, 11) },
  { key: 'scan', title: 'hit ratio, 5,000 hot keys + as many read once', make: () => scanTrace(13) },
]

/** The share of reads that hit, a miss followed by a set of the key. */
function hitRatio(subject: Subject, trace: readonly string[], value: SmallObject): number {
  const cache = subject.make()
  let hits = 0
  for (const key of trace) {
    if (cache.get(key) !== undefined) hits++
    else cache.set(key, value)
  }
  return hits / trace.length
}

/** `set` of keys cycling through {@link SET_KEYS}, into a cache filled first. */
function setTask(subject: Subject, keys: readonly string[], values: readonly SmallObject[]): BatchTask {
  const cache = subject.make()
  for (let i = 0; i < KEY_COUNT; i++) cache.set(keys[i] as string, values[i] as SmallObject)
  let offset = KEY_COUNT
  return {
    name: subject.name,
    batch: BATCH,
    loop: 'sync',
    run: () => {
      const end = offset + BATCH
      for (let i = offset; i < end; i++) cache.set(keys[i] as string, values[i % KEY_COUNT] as SmallObject)
      offset = end === keys.length ? 0 : end
    },
  }
}

export const memoryEviction: Scenario = {
  name: 'memory-eviction',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const keys = Array.from({ length: SET_KEYS }, (_, i) => `evict:${i}`)
    const values = Array.from({ length: KEY_COUNT }, (_, i) => smallObject(i))
    context.log('memory-eviction: set into a full cache')
    const tasks = subjects.map((subject) => setTask(subject, keys, values))
    const rates = await measureRates(tasks, { ...context.measure, clock: 'cpu' })
    context.log('memory-eviction: hit ratios over three traces of 1,000,000 reads')
    const ratios = new Map<string, Map<string, number>>(subjects.map((s) => [s.name, new Map()]))
    for (const trace of traces) {
      const reads = trace.make()
      for (const subject of subjects)
        ratios.get(subject.name)?.set(trace.key, hitRatio(subject, reads, values[0] as SmallObject))
    }
    const ratio = (subject: string, trace: string): number => ratios.get(subject)?.get(trace) ?? Number.NaN
    const percent = (share: number): string => `${(share * 100).toFixed(2)}%`
    const rows = subjects.map((subject) => {
      const row: Record<string, Cell> = { subject: subject.name, rate: rates.get(subject.name) ?? Number.NaN }
      for (const trace of traces) row[trace.key] = percent(ratio(subject.name, trace.key))
      return row
    })
    const [lru, ours] = subjects.map((s) => s.name) as [string, string]
    const shortfall = Math.max(...traces.map((t) => ratio(lru, t.key) - ratio(ours, t.key)))
    return {
      name: 'memory-eviction',
      title: 'Eviction (10,000 items): set into a full cache, and hit ratios',
      description:
        'sets/s: a set of a key not in the cache, every set evicting one item, timed on process CPU time. Hit ratio: the share of 1,000,000 reads that hit over a fixed, seeded trace, each miss followed by a set of the key (read-through). The memory handle keeps recency as CLOCK does; lru-cache keeps an exact LRU list.',
      columns: [
        { key: 'subject', title: 'cache' },
        { key: 'rate', title: 'sets/s, full', format: 'ops' },
        ...traces.map((t) => ({ key: t.key, title: t.title })),
      ],
      rows,
      targets: [
        {
          target: 'memory handle hit ratio no more than 1 point below an exact LRU (lru-cache) on each trace',
          measured: traces
            .map(
              (t) =>
                `${t.title.replace('hit ratio, ', '')}: ${percent(ratio(ours, t.key))} vs ${percent(ratio(lru, t.key))}`,
            )
            .join('; '),
          met: shortfall <= 0.01,
        },
      ],
    }
  },
}
