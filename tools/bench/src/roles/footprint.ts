/**
 * Heap bytes per entry, measured in a process started with `--expose-gc`: the keys and
 * values exist before the first reading, so the delta is what the structure itself
 * costs per entry (its map slots, entry objects, lists). Each structure is measured
 * several times, fresh each time; the median is reported.
 */
import { memoryHandle } from '@cacheplane/memory'
import { LRUCache } from 'lru-cache'
import { smallObject } from '../fixtures.js'

/** Config of {@link runFootprint}. */
export interface FootprintConfig {
  readonly entries: number
  readonly repeats: number
  /** Only these structures (all when omitted). */
  readonly only?: readonly string[]
}

type Builder = (keys: readonly string[], values: readonly object[]) => unknown

/** A memory handle holding the items, item i with an absolute TTL of `ttl(i)` ms (none for 0). */
function handleOf(ttl: (i: number) => number): Builder {
  return (keys, values) => {
    const handle = memoryHandle<object>({ maxEntries: keys.length, sweepIntervalMs: 0 })
    const created = Date.now()
    for (let i = 0; i < keys.length; i++) {
      const ms = ttl(i)
      handle.set(keys[i] as string, undefined, {
        value: values[i] as object,
        mode: ms === 0 ? 'none' : 'absolute',
        ttl: ms,
        expiresAt: ms === 0 ? 0 : created + ms,
        created,
      })
    }
    return handle
  }
}

const builders: Record<string, Builder> = {
  Map: (keys, values) => {
    const map = new Map<string, object>()
    for (let i = 0; i < keys.length; i++) map.set(keys[i] as string, values[i] as object)
    return map
  },
  'lru-cache': (keys, values) => {
    const lru = new LRUCache<string, object>({ max: keys.length })
    for (let i = 0; i < keys.length; i++) lru.set(keys[i] as string, values[i] as object)
    return lru
  },
  'memory handle': handleOf(() => 0),
  'memory handle (absolute TTL)': handleOf(() => 60_000),
  // TTLs computed per item (a token's remaining life): every item's differs.
  'memory handle (absolute TTL, one per item)': handleOf((i) => 60_000 + i),
  'lru-cache (ttl)': (keys, values) => {
    const lru = new LRUCache<string, object>({ max: keys.length, ttl: 60_000 })
    for (let i = 0; i < keys.length; i++) lru.set(keys[i] as string, values[i] as object)
    return lru
  },
}

function collect(gc: () => void): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

export async function runFootprint(config: FootprintConfig): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('footprint: start node with --expose-gc')
  const keys = Array.from({ length: config.entries }, (_, i) => `user:${i}`)
  const values: object[] = keys.map((_, i) => smallObject(i))
  const itemBytes = (() => {
    const before = collect(gc)
    const items = keys.map((_, i) => [`user:${i}`, smallObject(i)])
    const bytes = (collect(gc) - before) / config.entries
    if (items.length !== config.entries) throw new Error('unreachable')
    return bytes
  })()
  const results: Record<string, number> = {}
  for (const [name, build] of Object.entries(builders)) {
    if (config.only !== undefined && !config.only.includes(name)) continue
    const samples: number[] = []
    for (let r = 0; r < config.repeats; r++) {
      const before = collect(gc)
      let structure: unknown = build(keys, values)
      samples.push((collect(gc) - before) / config.entries)
      // Keep it alive through the second reading, then let it go before the next one.
      if (structure === undefined) throw new Error(`${name} built nothing`)
      structure = undefined
    }
    samples.sort((a, b) => a - b)
    results[name] = samples[Math.floor(samples.length / 2)] as number
  }
  process.send?.({ type: 'footprint', results, itemBytes })
}
