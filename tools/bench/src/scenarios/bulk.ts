/**
 * Bulk operations against the same keys one by one, on memory + Redis with a memory tier
 * too small to hold the keys (every read misses memory and reads Redis, as in
 * distributed-hit): `getMany(100)` against 100 awaited `get`s, and `setMany(100)` against
 * 100 awaited `set`s. Raw ioredis MGET of the same 100 keys (stored as JSON) is the floor.
 * Rates are keys per second.
 */
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'
import type { BenchContext, Scenario } from '../context.js'
import { KEY_COUNT, makeKeys, smallObject } from '../fixtures.js'
import { type BatchTask, measureRates, runConcurrent } from '../measure.js'
import type { Cell, ChartBar, ScenarioResult } from '../results.js'

const BATCH = 100

/** A task over consecutive batches of {@link BATCH} keys (wrapping), one batch per iteration. */
function batchTask(name: string, keys: readonly string[], op: (batch: string[]) => Promise<void>): BatchTask {
  let cursor = 0
  return {
    name,
    batch: BATCH,
    loop: 'awaited',
    run: async () => {
      const start = cursor
      cursor = (cursor + BATCH) % (keys.length - BATCH)
      await op(keys.slice(start, start + BATCH))
    },
  }
}

/** The tasks: bulk calls against the same keys one by one, and raw MGET as the floor. */
function tasksFor(cache: CacheManager, ioredis: Redis, keys: readonly string[]): BatchTask[] {
  const check = (values: readonly unknown[]) => {
    if (values.some((v) => v === undefined)) throw new Error('bulk: a key missed')
  }
  return [
    batchTask('getMany(100)', keys, async (batch) => check(await cache.getMany(batch))),
    batchTask('100 awaited get', keys, async (batch) => {
      for (const key of batch) if ((await cache.get(key)) === undefined) throw new Error('bulk: miss')
    }),
    batchTask('raw ioredis MGET(100)+JSON.parse', keys, async (batch) => {
      const replies = await ioredis.mget(batch.map((key) => `raw:${key}`))
      check(replies.map((json) => (json === null ? undefined : JSON.parse(json))))
    }),
    batchTask('setMany(100)', keys, async (batch) => {
      await cache.setMany(batch.map((key, i) => ({ key, value: smallObject(i) })))
    }),
    batchTask('100 awaited set', keys, async (batch) => {
      for (let i = 0; i < batch.length; i++) await cache.set(batch[i]!, smallObject(i))
    }),
  ]
}

/** The scenario's result from the measured rates. */
function resultOf(tasks: readonly BatchTask[], rates: Map<string, number>): ScenarioResult {
  const rate = (name: string): number => rates.get(name) ?? Number.NaN
  const rows: Array<Record<string, Cell>> = tasks.map((t) => ({ subject: t.name, rate: rate(t.name) }))
  const bars: ChartBar[] = tasks.map((t) => ({
    label: t.name,
    value: rate(t.name),
    ours: !t.name.startsWith('raw'),
  }))
  const getRatio = rate('getMany(100)') / rate('100 awaited get')
  const setRatio = rate('setMany(100)') / rate('100 awaited set')
  return {
    name: 'bulk',
    title: 'Bulk reads and writes (memory misses, Redis answers)',
    description:
      'Keys per second. Each iteration handles 100 consecutive keys: in one bulk call, or in 100 calls awaited one after the other. The memory tier holds 16 items, so every read goes to Redis.',
    columns: [
      { key: 'subject', title: 'subject' },
      { key: 'rate', title: 'keys/s', format: 'ops' },
    ],
    rows,
    targets: [
      {
        target: 'getMany(100) >= 5x 100 awaited gets on Redis',
        measured: `${getRatio.toFixed(1)}x`,
        met: getRatio >= 5,
      },
      {
        target: 'setMany(100) vs 100 awaited sets (no target)',
        measured: `${setRatio.toFixed(1)}x`,
        met: true,
      },
    ],
    charts: [{ title: 'Bulk operations on Redis', unit: 'keys/s', bars }],
  }
}

export const bulk: Scenario = {
  name: 'bulk',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const redisUrl = await context.servers.redis()
    const keys = makeKeys(KEY_COUNT)
    const cache = new CacheManager({
      name: 'bench-bulk',
      handles: [memoryHandle({ maxEntries: 16 }), redisHandle({ url: redisUrl })],
    })
    const ioredis = new Redis(redisUrl)
    try {
      context.log('bulk: writing 10,000 keys to Redis')
      await runConcurrent(32, keys.length, async (i) => {
        await cache.set(keys[i]!, smallObject(i))
        await ioredis.set(`raw:${keys[i]}`, JSON.stringify(smallObject(i)))
      })
      const tasks = tasksFor(cache, ioredis, keys)
      context.log('bulk: measuring')
      return resultOf(tasks, await measureRates(tasks, context.measure))
    } finally {
      await cache.close()
      ioredis.disconnect()
    }
  },
}
