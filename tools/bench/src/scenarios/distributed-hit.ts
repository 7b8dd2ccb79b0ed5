/**
 * Memory-miss / distributed-hit `get` at concurrency 1 and 64: CacheManager over
 * memory + Redis and memory + Memcached, with a memory tier too small to hold the keys
 * (every get misses memory, reads the store, copies the item up), against raw ioredis
 * and raw memjs reading the same keys: GET of the same object as JSON + JSON.parse, so
 * both sides fetch a payload of about the same size and decode it.
 */
import { CacheManager } from '@cacheplane/core'
import { memcachedHandle } from '@cacheplane/memcached'
import { memoryHandle } from '@cacheplane/memory'
import { corkWrites, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'
import { Client as MemjsClient } from 'memjs'
import type { BenchContext, Scenario } from '../context.js'
import { KEY_COUNT, makeKeys, smallObject } from '../fixtures.js'
import { keyedTask, measureRates, runConcurrent } from '../measure.js'
import type { Cell, ChartBar, ScenarioResult } from '../results.js'

const CONCURRENCY = [1, 64] as const
/** The raw baseline's client measured again, as a control of the run's noise. */
const AGAIN = 'raw ioredis (auto-pipelining) GET+JSON.parse, a second client (A/A control)'
const PIPELINED = 'raw ioredis (auto-pipelining) GET+JSON.parse'
const README_SETUP =
  "CacheManager memory(miss)+redis, a corked client of the application's (the README's setup)"

/** One client measured: ours (a CacheManager) or a raw client of `store`. */
interface Subject {
  readonly name: string
  readonly ours: boolean
  readonly store: 'redis' | 'memcached'
  /** The raw client with cacheplane's socket batching (`corkWrites`): shown, not the baseline. */
  readonly corked?: boolean
  /** A second client set up as the baseline's, measured in the same rounds: how far the baseline moves against itself. */
  readonly again?: boolean
  get(key: string): Promise<unknown>
}

/** The managers and raw clients of the scenario, on the same servers. */
function openClients(redisUrl: string, memcachedServers: string) {
  // Memory holds 16 items and the reads walk 10,000 keys in order: always a miss.
  const overRedis = new CacheManager({
    name: 'bench-distributed-hit',
    handles: [memoryHandle({ maxEntries: 16 }), redisHandle({ url: redisUrl })],
  })
  // The README's setup: a client of the application's own, corked (no command timeout, as there).
  const readmeClient = new Redis(redisUrl)
  corkWrites(readmeClient)
  const overReadmeClient = new CacheManager({
    name: 'bench-distributed-hit-client',
    handles: [memoryHandle({ maxEntries: 16 }), redisHandle({ client: readmeClient })],
  })
  const overMemcached = new CacheManager({
    name: 'bench-distributed-hit',
    handles: [memoryHandle({ maxEntries: 16 }), memcachedHandle({ servers: memcachedServers })],
  })
  const ioredis = new Redis(redisUrl)
  const ioredisPipelined = new Redis(redisUrl, { enableAutoPipelining: true })
  const ioredisPipelinedAgain = new Redis(redisUrl, { enableAutoPipelining: true })
  const ioredisCorked = new Redis(redisUrl)
  corkWrites(ioredisCorked)
  const memcached = MemjsClient.create(memcachedServers, { logger: { log: () => undefined } })
  const close = async () => {
    await overRedis.close()
    await overReadmeClient.close()
    readmeClient.disconnect()
    await overMemcached.close()
    ioredis.disconnect()
    ioredisPipelined.disconnect()
    ioredisPipelinedAgain.disconnect()
    ioredisCorked.disconnect()
    memcached.close()
  }
  return {
    overRedis,
    overReadmeClient,
    overMemcached,
    ioredis,
    ioredisPipelined,
    ioredisPipelinedAgain,
    ioredisCorked,
    memcached,
    close,
  }
}

type Clients = ReturnType<typeof openClients>

/** Every key, through the managers and as JSON for the raw clients. */
async function writeKeys(clients: Clients, keys: readonly string[]): Promise<void> {
  await runConcurrent(32, keys.length, async (i) => {
    const key = keys[i] as string
    const json = JSON.stringify(smallObject(i))
    await clients.overRedis.set(key, smallObject(i))
    await clients.overReadmeClient.set(key, smallObject(i))
    await clients.overMemcached.set(key, smallObject(i))
    await clients.ioredis.set(`raw:${key}`, json)
    await clients.memcached.set(`raw:${key}`, json, {})
  })
}

function subjectsOf(clients: Clients): Subject[] {
  const rawRedisGet = async (client: Redis, key: string): Promise<unknown> => {
    const json = await client.get(`raw:${key}`)
    return json === null ? undefined : JSON.parse(json)
  }
  const rawMemjsGet = async (key: string): Promise<unknown> => {
    const { value } = await clients.memcached.get(`raw:${key}`)
    return value === null ? undefined : JSON.parse(value.toString('utf8'))
  }
  return [
    {
      name: 'CacheManager memory(miss)+redis',
      ours: true,
      store: 'redis',
      get: (k) => clients.overRedis.get(k),
    },
    {
      name: README_SETUP,
      ours: true,
      store: 'redis',
      get: (k) => clients.overReadmeClient.get(k),
    },
    {
      name: 'raw ioredis GET+JSON.parse',
      ours: false,
      store: 'redis',
      get: (k) => rawRedisGet(clients.ioredis, k),
    },
    {
      name: PIPELINED,
      ours: false,
      store: 'redis',
      get: (k) => rawRedisGet(clients.ioredisPipelined, k),
    },
    {
      name: AGAIN,
      ours: false,
      again: true,
      store: 'redis',
      get: (k) => rawRedisGet(clients.ioredisPipelinedAgain, k),
    },
    {
      name: 'raw ioredis GET+JSON.parse, writes corked per tick (corkWrites)',
      ours: false,
      corked: true,
      store: 'redis',
      get: (k) => rawRedisGet(clients.ioredisCorked, k),
    },
    {
      name: 'CacheManager memory(miss)+memcached',
      ours: true,
      store: 'memcached',
      get: (k) => clients.overMemcached.get(k),
    },
    { name: 'raw memjs get+JSON.parse', ours: false, store: 'memcached', get: rawMemjsGet },
  ]
}

/** Each subject reading every key at each concurrency; a miss fails the run. */
function measure(context: BenchContext, subjects: readonly Subject[], keys: readonly string[]) {
  const tasks = CONCURRENCY.flatMap((c) =>
    subjects.map((s) =>
      keyedTask(s.name, c, keys.length, async (index) => {
        const key = keys[index] as string
        if ((await s.get(key)) === undefined) throw new Error(`${s.name}: miss on ${key}`)
      }),
    ),
  )
  return measureRates(tasks, context.measure)
}

/** The table, targets and chart of the measured rates. */
function report(subjects: readonly Subject[], rates: Map<string, number>): ScenarioResult {
  const rate = (name: string, c: number): number => rates.get(`${name} @${c}`) ?? Number.NaN
  // The raw baseline of a store at a concurrency: its fastest raw client.
  const rawBest = (store: string, c: number): number =>
    Math.max(
      ...subjects
        .filter((s) => !s.ours && s.corked !== true && s.again !== true && s.store === store)
        .map((s) => rate(s.name, c)),
    )
  const corked = (c: number): number => rate(subjects.find((s) => s.corked === true)!.name, c)
  const rows: Array<Record<string, Cell>> = []
  const bars: ChartBar[] = []
  for (const c of CONCURRENCY) {
    for (const s of subjects) {
      // The A/A control against the client it repeats: 1.00x but for the run's noise.
      const vsRaw = s.ours
        ? rate(s.name, c) / rawBest(s.store, c)
        : s.again === true
          ? rate(s.name, c) / rate(PIPELINED, c)
          : ''
      const vsCorked = s.ours && s.store === 'redis' ? rate(s.name, c) / corked(c) : ''
      rows.push({ subject: s.name, concurrency: c, rate: rate(s.name, c), vsRaw, vsCorked })
      bars.push({ label: `${s.name} @${c}`, value: rate(s.name, c), ours: s.ours })
    }
  }
  const redisRatio = rate('CacheManager memory(miss)+redis', 64) / rawBest('redis', 64)
  const memcachedRatio = rate('CacheManager memory(miss)+memcached', 64) / rawBest('memcached', 64)
  const readmeRatio = rate(README_SETUP, 64) / rawBest('redis', 64)
  const noise = `; the README's setup ${readmeRatio.toFixed(2)}x; the A/A control ${(rate(AGAIN, 64) / rate(PIPELINED, 64)).toFixed(2)}x`
  return {
    name: 'distributed-hit',
    title: 'Distributed-hit get (memory misses, the store answers)',
    description:
      'Concurrency = calls in flight at once (each worker awaits its call before the next). CacheManager runs on the connection its Redis handle opens from `url` (with a 2 s command timeout), and on a client of the application\'s given to the handle and corked (`corkWrites`), as the README sets it up (no command timeout there). Raw clients read the same object stored as JSON and JSON.parse it. "vs raw" divides by the faster of the plain and the auto-pipelined raw client of the same store at the same concurrency (the baseline of issue 16); "vs raw corked" by a raw ioredis client given cacheplane\'s own socket batching (`corkWrites`: the commands of one tick in one write), which ioredis users do not get by default. The A/A control is a second auto-pipelined raw client measured in the same rounds; its "vs raw" divides it by the first, and shows how far the baseline moves against itself in this run.',
    columns: [
      { key: 'subject', title: 'subject' },
      { key: 'concurrency', title: 'concurrency', format: 'int' },
      { key: 'rate', title: 'gets/s', format: 'ops' },
      { key: 'vsRaw', title: 'vs raw', format: 'ratio' },
      { key: 'vsCorked', title: 'vs raw corked', format: 'ratio' },
    ],
    rows,
    targets: [
      {
        target: 'distributed-hit get >= 0.85x raw ioredis at concurrency 64',
        measured: `${redisRatio.toFixed(2)}x (from \`url\`)${noise}`,
        met: redisRatio >= 0.85,
      },
      {
        target: 'distributed-hit get >= 0.85x raw memjs at concurrency 64',
        measured: `${memcachedRatio.toFixed(2)}x`,
        met: memcachedRatio >= 0.85,
      },
    ],
    charts: [{ title: 'Distributed-hit get', unit: 'gets/s', bars }],
  }
}

export const distributedHit: Scenario = {
  name: 'distributed-hit',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const clients = openClients(await context.servers.redis(), await context.servers.memcached())
    const keys = makeKeys(KEY_COUNT)
    try {
      context.log('distributed-hit: writing 10,000 keys to Redis and Memcached')
      await writeKeys(clients, keys)
      const subjects = subjectsOf(clients)
      context.log('distributed-hit: measuring')
      return report(subjects, await measure(context, subjects, keys))
    } finally {
      await clients.close()
    }
  },
}
