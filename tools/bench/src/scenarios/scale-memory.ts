/**
 * How the memory layer's cost grows with its size: at 10k, 100k and 1M entries, the
 * memory-hit rate of `CacheManager.peek` (memory only) against lru-cache holding the same
 * items, and the heap bytes per entry of the memory handle against lru-cache (measured in
 * a `--expose-gc` worker, as `memory-per-entry` does). Hits are read in a scattered order
 * (a stride through the keys), so large tables pay their cache misses as an application
 * with a wide working set would.
 */
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { LRUCache } from 'lru-cache'
import { WorkerProcess } from '../child.js'
import type { BenchContext, Scenario } from '../context.js'
import type { ChartPanel } from '../svg-chart.js'
import { makeKeys, type SmallObject, smallObject } from '../fixtures.js'
import { type BatchTask, measureRates } from '../measure.js'
import type { Cell, ScenarioResult } from '../results.js'

const BATCH = 1_000
/** A stride co-prime with every size measured, so the walk visits every key. */
const STRIDE = 7_919

function scattered(name: string, keys: readonly string[], get: (key: string) => unknown): BatchTask {
  let cursor = 0
  return {
    name,
    batch: BATCH,
    loop: 'sync',
    run: () => {
      let misses = 0
      for (let i = 0; i < BATCH; i++) {
        if (get(keys[cursor] as string) === undefined) misses++
        cursor = (cursor + STRIDE) % keys.length
      }
      if (misses !== 0) throw new Error(`${name}: ${misses} misses in a memory-hit benchmark`)
    },
  }
}

async function hitRates(entries: number, context: BenchContext): Promise<{ peek: number; lru: number }> {
  const keys = makeKeys(entries)
  const cache = new CacheManager<SmallObject>({
    name: 'bench-scale-memory',
    handles: [memoryHandle({ maxEntries: entries })],
  })
  const lru = new LRUCache<string, SmallObject>({ max: entries })
  try {
    // The values first, side by side: made between the writes, they would sit among the
    // memory handle's entries, and lru-cache's reads of them would speed up or slow down
    // with the size of our entries.
    const values = keys.map((_, i) => smallObject(i))
    for (let i = 0; i < entries; i++) {
      await cache.set(keys[i] as string, values[i] as SmallObject)
      lru.set(keys[i] as string, values[i] as SmallObject)
    }
    const rates = await measureRates(
      [scattered('peek', keys, (k) => cache.peek(k)), scattered('lru', keys, (k) => lru.get(k))],
      { ...context.measure, clock: 'cpu' },
    )
    return { peek: rates.get('peek') ?? Number.NaN, lru: rates.get('lru') ?? Number.NaN }
  } finally {
    await cache.close()
  }
}

async function footprint(entries: number): Promise<Record<string, number>> {
  const worker = new WorkerProcess(
    'footprint',
    { entries, repeats: 3, only: ['lru-cache', 'memory handle'] },
    ['--expose-gc'],
  )
  try {
    const message = await worker.next('footprint', 300_000)
    return message.results as Record<string, number>
  } finally {
    await worker.stop()
  }
}

/** Hit rate and bytes per entry by size, ours in blue next to lru-cache in grey. */
function memoryPanels(rows: ReadonlyArray<Record<string, Cell>>): ChartPanel[] {
  const size = (row: Record<string, Cell>) => (row.entries as number).toLocaleString('en-US')
  return [
    {
      title: 'memory-hit rate by entries: peek (blue) and lru-cache get (grey)',
      unit: 'hits/s',
      bars: rows.flatMap((row) => [
        {
          label: `peek, ${size(row)}`,
          value: row.peek as number,
          ours: true,
        },
        {
          label: `lru-cache, ${size(row)}`,
          value: row.lru as number,
          ours: false,
        },
      ]),
    },
    {
      title: 'bytes per entry by entries: memory handle (blue) and lru-cache (grey)',
      unit: 'bytes',
      bars: rows.flatMap((row) => [
        {
          label: `memory handle, ${size(row)}`,
          value: row.handleBytes as number,
          ours: true,
        },
        {
          label: `lru-cache, ${size(row)}`,
          value: row.lruBytes as number,
          ours: false,
        },
      ]),
    },
  ]
}

export const scaleMemory: Scenario = {
  name: 'scale-memory',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const sizes = context.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]
    const rows: Array<Record<string, Cell>> = []
    for (const entries of sizes) {
      context.log(`scale-memory: ${entries.toLocaleString('en-US')} entries`)
      const rates = await hitRates(entries, context)
      const bytes = await footprint(entries)
      const handleBytes = bytes['memory handle'] ?? Number.NaN
      const lruBytes = bytes['lru-cache'] ?? Number.NaN
      rows.push({
        entries,
        peek: rates.peek,
        lru: rates.lru,
        vsLru: rates.peek / rates.lru,
        handleBytes,
        lruBytes,
        bytesVsLru: handleBytes / lruBytes,
      })
    }
    return {
      name: 'scale-memory',
      title: 'Memory layer against its size',
      description: `Memory-hit rate of CacheManager.peek (memory only) and lru-cache get over the same small objects, read in a scattered order (stride ${STRIDE}), timed on process CPU time; heap bytes per entry of the structures alone (median of 3 in a --expose-gc worker).`,
      columns: [
        { key: 'entries', title: 'entries', format: 'int' },
        { key: 'peek', title: 'peek hits/s', format: 'ops' },
        { key: 'lru', title: 'lru-cache hits/s', format: 'ops' },
        { key: 'vsLru', title: 'hit rate vs lru-cache', format: 'ratio' },
        { key: 'handleBytes', title: 'memory handle bytes/entry', format: 'bytes' },
        { key: 'lruBytes', title: 'lru-cache bytes/entry', format: 'bytes' },
        { key: 'bytesVsLru', title: 'bytes vs lru-cache', format: 'ratio' },
      ],
      rows,
      targets: [],
      charts: memoryPanels(rows),
    }
  },
}
