/**
 * Memory per entry of the memory handle against lru-cache holding the same 100,000
 * items, measured as heapUsed deltas in a worker started with `--expose-gc`.
 */
import { WorkerProcess } from '../child.js'
import type { BenchContext, Scenario } from '../context.js'
import type { Cell, ScenarioResult } from '../results.js'

const ENTRIES = 100_000

export const memoryPerEntry: Scenario = {
  name: 'memory-per-entry',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const repeats = context.quick ? 3 : 5
    context.log(
      `memory-per-entry: ${ENTRIES.toLocaleString('en-US')} entries x ${repeats} in a --expose-gc worker`,
    )
    const worker = new WorkerProcess('footprint', { entries: ENTRIES, repeats }, ['--expose-gc'])
    let message: Record<string, unknown>
    try {
      message = await worker.next('footprint', 120_000)
    } finally {
      await worker.stop()
    }
    const results = message.results as Record<string, number>
    const itemBytes = message.itemBytes as number
    const of = (name: string): number => results[name] ?? Number.NaN
    const rows: Array<Record<string, Cell>> = Object.entries(results).map(([subject, bytes]) => ({
      subject,
      bytes,
      withItems: bytes + itemBytes,
      vsLru: subject.startsWith('memory handle')
        ? bytes / of(subject.includes('TTL') ? 'lru-cache (ttl)' : 'lru-cache')
        : '',
    }))
    const ratio = of('memory handle') / of('lru-cache')
    const ratioTtl = of('memory handle (absolute TTL)') / of('lru-cache (ttl)')
    const ratioWithItems = (of('memory handle') + itemBytes) / (of('lru-cache') + itemBytes)
    return {
      name: 'memory-per-entry',
      title: 'Memory per entry (100,000 small objects)',
      description: `heapUsed delta per entry after full GCs, median of ${repeats}; keys and values exist before the first reading, so "structure bytes" is the cache's own cost. "with items" adds the ${itemBytes.toFixed(1)} bytes a key string and its small object take. lru-cache is created with max = the entry count (it preallocates its arrays).`,
      columns: [
        { key: 'subject', title: 'structure' },
        { key: 'bytes', title: 'structure bytes/entry', format: 'bytes' },
        { key: 'withItems', title: 'with items, bytes/entry', format: 'bytes' },
        { key: 'vsLru', title: 'vs lru-cache', format: 'ratio' },
      ],
      rows,
      targets: [
        {
          target: 'memory handle <= 1.5x lru-cache bytes per entry',
          measured: `${ratio.toFixed(2)}x structure only (${ratioTtl.toFixed(2)}x with TTLs on both; ${ratioWithItems.toFixed(2)}x counting the items)`,
          met: ratio <= 1.5,
        },
        {
          target:
            'memory handle with an absolute TTL <= 1.5x lru-cache with a ttl, bytes per entry (issue 16)',
          measured: `${ratioTtl.toFixed(2)}x`,
          met: ratioTtl <= 1.5,
        },
      ],
    }
  },
}
