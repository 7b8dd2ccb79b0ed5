/**
 * Tags (issue 13). Two measurements:
 *
 * - `tags-memory-hit`: what tags cost a memory-hit `get` and `peek`: one memory-only
 *   manager, 10,000 keys written untagged, with one tag and with three tags, read in the
 *   same interleaved rounds. A tagged hit compares each tag's mark with the cached stamp
 *   (no allocation), so the target is at most 10% slower than the untagged hit.
 * - `scale-remove-by-tag`: `removeByTag` time against the number of items carrying the
 *   tag, on memory + Redis with the Redis backplane. Invalidation writes one stamp and
 *   publishes one message whatever the count, so the median of repeated calls with
 *   1,000,000 tagged items must be within 20% of the one with 1,000.
 */
import { randomUUID } from 'node:crypto'
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import type { BenchContext, Scenario } from '../context.js'
import { KEY_COUNT, makeKeys, type SmallObject, smallObject } from '../fixtures.js'
import { type BatchTask, measureRates, runConcurrent } from '../measure.js'
import { summarize } from '../percentiles.js'
import type { Cell, ScenarioResult } from '../results.js'

const BATCH = 1_000

function hitTask(
  name: string,
  loop: 'sync' | 'awaited',
  keys: readonly string[],
  get: (key: string) => unknown,
): BatchTask {
  let offset = 0
  const check = (value: unknown) => {
    if (value === undefined) throw new Error(`${name}: a miss in a memory-hit benchmark`)
  }
  return {
    name,
    batch: BATCH,
    loop,
    run:
      loop === 'sync'
        ? () => {
            const end = offset + BATCH
            for (let i = offset; i < end; i++) check(get(keys[i] as string))
            offset = end === keys.length ? 0 : end
          }
        : async () => {
            const end = offset + BATCH
            for (let i = offset; i < end; i++) check(await get(keys[i] as string))
            offset = end === keys.length ? 0 : end
          },
  }
}

const VARIANTS = [
  { label: 'untagged', tags: undefined },
  { label: '1 tag', tags: ['users'] },
  { label: '3 tags', tags: ['users', 'tenant:7', 'plan:pro'] },
] as const

export const tagsMemoryHit: Scenario = {
  name: 'tags-memory-hit',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const keys = makeKeys(KEY_COUNT)
    // One manager per variant: a shared memory handle would serve the variant written first
    // from the old end of its LRU list (measured: whichever came first was slowest).
    const caches = VARIANTS.map(
      ({ label }) =>
        new CacheManager<SmallObject>({
          name: `bench-tags-hit-${label.replace(' ', '-')}`,
          handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 })],
        }),
    )
    try {
      const tasks: BatchTask[] = []
      for (const [v, { label, tags }] of VARIANTS.entries()) {
        const cache = caches[v]!
        await runConcurrent(32, keys.length, (i) =>
          cache.set(keys[i] as string, smallObject(i), tags === undefined ? undefined : { tags: [...tags] }),
        )
        tasks.push(hitTask(`get, ${label}`, 'awaited', keys, (k) => cache.get(k)))
        tasks.push(hitTask(`peek, ${label}`, 'sync', keys, (k) => cache.peek(k)))
      }
      context.log('tags-memory-hit: measuring')
      const rates = await measureRates(tasks, { ...context.measure, clock: 'cpu' })
      const rate = (name: string): number => rates.get(name) ?? Number.NaN
      const rows = tasks.map((t) => {
        const base = rate(`${t.name.split(',')[0]}, untagged`)
        return { subject: t.name, loop: t.loop, rate: rate(t.name), vsUntagged: rate(t.name) / base }
      })
      const worst = (op: string) =>
        Math.min(rate(`${op}, 1 tag`), rate(`${op}, 3 tags`)) / rate(`${op}, untagged`)
      return {
        name: 'tags-memory-hit',
        title: 'Memory-hit get and peek with tags (10,000 keys)',
        description:
          'One memory-only manager; the same reads of items written untagged, with one tag and with three tags, interleaved in the same rounds. Timed on process CPU time.',
        columns: [
          { key: 'subject', title: 'subject' },
          { key: 'loop', title: 'loop' },
          { key: 'rate', title: 'reads/s', format: 'ops' },
          { key: 'vsUntagged', title: 'vs untagged', format: 'ratio' },
        ],
        rows,
        targets: ['get', 'peek'].map((op) => ({
          target: `memory-hit ${op} with tags at most 10% slower than untagged`,
          measured: `${worst(op).toFixed(3)}x (the slower of 1 and 3 tags)`,
          met: worst(op) >= 0.9,
        })),
        charts: [],
      }
    } finally {
      for (const cache of caches) await cache.close()
    }
  },
}

/** A memory + Redis manager (Redis backplane) with `size` items carrying the tag `big`. */
async function tagged(redisUrl: string, size: number): Promise<CacheManager<number>> {
  const cache = new CacheManager<number>({
    name: `bench-tags-${randomUUID().slice(0, 8)}`,
    handles: [memoryHandle({ maxEntries: 1_000 }), redisHandle({ url: redisUrl })],
    backplane: redisBackplane({ url: redisUrl }),
  })
  await cache.ready()
  await runConcurrent(256, size, (i) => cache.set(`k${i}`, i, { tags: ['big'] }))
  return cache
}

/**
 * removeByTag on each cache in turn, `calls` times after as many warm-up rounds:
 * interleaved, so load from other processes and the JIT's warm-up hit every size alike
 * (measured one size after the other, whichever ran first was up to 2x slower).
 */
async function interleavedTimes(caches: readonly CacheManager<number>[], calls: number): Promise<number[][]> {
  const samples = caches.map((): number[] => [])
  for (let round = 0; round < 2 * calls; round++) {
    for (const [i, cache] of caches.entries()) {
      const started = performance.now()
      await cache.removeByTag('big')
      if (round >= calls) samples[i]!.push(performance.now() - started)
    }
  }
  return samples
}

export const scaleRemoveByTag: Scenario = {
  name: 'scale-remove-by-tag',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const redisUrl = await context.servers.redis()
    const sizes = context.quick ? [1_000, 100_000] : [1_000, 1_000_000]
    const calls = context.quick ? 100 : 500
    const caches: CacheManager<number>[] = []
    const rows: Array<Record<string, Cell>> = []
    try {
      for (const size of sizes) {
        context.log(`scale-remove-by-tag: writing ${size.toLocaleString('en-US')} tagged items to Redis`)
        caches.push(await tagged(redisUrl, size))
      }
      context.log('scale-remove-by-tag: measuring')
      const samples = await interleavedTimes(caches, calls)
      for (const [i, size] of sizes.entries()) {
        if ((await caches[i]!.get(`k${size - 1}`)) !== undefined) throw new Error('removeByTag left an item')
        const { p50, p99 } = summarize(samples[i]!)
        rows.push({ size, calls, p50, p99 })
      }
    } finally {
      // No clear: the bench's Redis goes away with the run, and clearing a million keys by
      // SCAN outlasts the client's command timeout.
      for (const cache of caches) await cache.close()
    }
    const small = rows[0]!.p50 as number
    const large = rows[rows.length - 1]!.p50 as number
    return {
      name: 'scale-remove-by-tag',
      title: 'removeByTag time against the number of tagged items',
      description:
        'memory + Redis with the Redis backplane; N items carry the tag; the median (and p99) wall time of repeated removeByTag calls.',
      columns: [
        { key: 'size', title: 'tagged items', format: 'int' },
        { key: 'calls', title: 'calls', format: 'int' },
        { key: 'p50', title: 'p50 ms', format: 'ms' },
        { key: 'p99', title: 'p99 ms', format: 'ms' },
      ],
      rows,
      targets: [
        {
          target: `removeByTag with ${sizes[1]!.toLocaleString('en-US')} items within 20% of 1,000`,
          measured: `${(large / small).toFixed(2)}x (p50 ${large.toFixed(3)} ms vs ${small.toFixed(3)} ms)`,
          met: large / small <= 1.2 && large / small >= 1 / 1.2,
        },
      ],
      charts: [],
    }
  },
}
