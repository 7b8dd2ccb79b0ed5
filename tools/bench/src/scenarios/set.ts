/**
 * `set` through memory + Redis + Redis backplane against raw ioredis SET of the same
 * object as JSON (JSON.stringify included), at concurrency 1 and 64, and BentoCache's
 * multi-tier set (memory + Redis + bus), the peer users would pick instead.
 */
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { corkWrites, redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'
import type { BenchContext, Scenario } from '../context.js'
import { KEY_COUNT, makeKeys, type SmallObject, smallObject } from '../fixtures.js'
import { keyedTask, measureRates } from '../measure.js'
import { createBentoCache } from '../peers.js'
import type { Cell, ScenarioResult } from '../results.js'

const CONCURRENCY = [1, 64] as const

/** One client measured: ours, the peer library, or a raw client. */
interface Subject {
  readonly name: string
  readonly ours: boolean
  readonly peer?: boolean
  /** The raw client with cacheplane's socket batching (`corkWrites`): shown, not the baseline. */
  readonly corked?: boolean
  set(key: string, value: SmallObject): Promise<unknown>
}

function subjectsOf(
  cache: CacheManager<SmallObject>,
  bento: ReturnType<typeof createBentoCache>,
  ioredis: Redis,
  ioredisPipelined: Redis,
  ioredisCorked: Redis,
): Subject[] {
  return [
    { name: 'CacheManager memory+redis+backplane', ours: true, set: (k, v) => cache.set(k, v) },
    {
      name: 'BentoCache memory+redis+bus',
      ours: false,
      peer: true,
      set: (k, v) => bento.set({ key: k, value: v }),
    },
    {
      name: 'raw ioredis SET (JSON.stringify)',
      ours: false,
      set: (k, v) => ioredis.set(`raw:${k}`, JSON.stringify(v)),
    },
    {
      name: 'raw ioredis (auto-pipelining) SET',
      ours: false,
      set: (k, v) => ioredisPipelined.set(`raw:${k}`, JSON.stringify(v)),
    },
    {
      name: 'raw ioredis SET, writes corked per tick (corkWrites)',
      ours: false,
      corked: true,
      set: (k, v) => ioredisCorked.set(`raw:${k}`, JSON.stringify(v)),
    },
  ]
}

/** The table of the measured rates. */
function report(subjects: readonly Subject[], rates: Map<string, number>): ScenarioResult {
  const rate = (name: string, c: number): number => rates.get(`${name} @${c}`) ?? Number.NaN
  const rawBest = (c: number): number =>
    Math.max(
      ...subjects.filter((s) => !s.ours && s.peer !== true && s.corked !== true).map((s) => rate(s.name, c)),
    )
  const corked = subjects.find((s) => s.corked === true)!
  const rows: Array<Record<string, Cell>> = []
  for (const c of CONCURRENCY) {
    for (const s of subjects) {
      const compared = s.ours || s.peer === true
      const vsRaw = compared ? rate(s.name, c) / rawBest(c) : ''
      const vsCorked = compared ? rate(s.name, c) / rate(corked.name, c) : ''
      rows.push({ subject: s.name, concurrency: c, rate: rate(s.name, c), vsRaw, vsCorked })
    }
  }
  return {
    name: 'set',
    title: 'set through memory + Redis + backplane',
    description:
      'CacheManager.set writes Redis (one plain SET of the item envelope, with a version the writer drew), then memory, then queues the invalidation for the backplane. The raw client does one SET of the JSON. BentoCache writes its memory tier and Redis and publishes on its bus. "vs raw" divides by the faster of the plain and the auto-pipelined raw client (the baseline of issue 16); "vs raw corked" by a raw client given cacheplane\'s own socket batching (`corkWrites`: the commands of one tick in one write), which ioredis users do not get by default.',
    columns: [
      { key: 'subject', title: 'subject' },
      { key: 'concurrency', title: 'concurrency', format: 'int' },
      { key: 'rate', title: 'sets/s', format: 'ops' },
      { key: 'vsRaw', title: 'vs raw', format: 'ratio' },
      { key: 'vsCorked', title: 'vs raw corked', format: 'ratio' },
    ],
    rows,
    targets: [],
  }
}

export const setScenario: Scenario = {
  name: 'set',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const redisUrl = await context.servers.redis()
    const keys = makeKeys(KEY_COUNT)
    const values = keys.map((_, i) => smallObject(i))
    const cache = new CacheManager<SmallObject>({
      name: 'bench-set',
      handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 }), redisHandle({ url: redisUrl })],
      backplane: redisBackplane({ url: redisUrl }),
    })
    const ioredis = new Redis(redisUrl)
    const ioredisPipelined = new Redis(redisUrl, { enableAutoPipelining: true })
    const ioredisCorked = new Redis(redisUrl)
    corkWrites(ioredisCorked)
    const bento = createBentoCache(redisUrl, KEY_COUNT * 2)
    try {
      await cache.ready()
      const subjects = subjectsOf(cache, bento, ioredis, ioredisPipelined, ioredisCorked)
      const tasks = CONCURRENCY.flatMap((c) =>
        subjects.map((s) =>
          keyedTask(s.name, c, keys.length, (index) =>
            s.set(keys[index] as string, values[index] as SmallObject),
          ),
        ),
      )
      context.log('set: measuring')
      const rates = await measureRates(tasks, context.measure)
      await cache.flush()
      return report(subjects, rates)
    } finally {
      await cache.close()
      ioredis.disconnect()
      ioredisPipelined.disconnect()
      ioredisCorked.disconnect()
      await bento.disconnect()
    }
  },
}
