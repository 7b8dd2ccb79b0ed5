/**
 * Memory-hit `get` over 10,000 keys holding small objects: CacheManager (memory only,
 * and memory + Redis + Redis backplane) against a raw Map, lru-cache, BentoCache
 * (memory + Redis + bus) and cacheable (memory primary).
 *
 * How the loops await: `CacheManager.get`, BentoCache and cacheable are async APIs, so
 * their loops `await` every call, as an application does. The lru-cache and Map loops
 * call `get` synchronously: the bar is "lru-cache's own get rate", the fastest
 * it goes. An awaited lru-cache loop is printed too, to show what the `await` alone costs.
 * `CacheManager.peek` is the synchronous read of the top level (a miss would not read
 * below), so its loops are synchronous like lru-cache's: the like-for-like comparison.
 * `getOrAdd` on a hit must cost what `get` costs (issue 12: within 5%, same run): its
 * rows run the same loop with a factory that is never called.
 * Items with a TTL cost a hit a look at the clock: the rows "with a TTL" measure that, lru-cache
 * with its `ttl` (and its default `ttlResolution`) beside them.
 */
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { LRUCache } from 'lru-cache'
import type { BenchContext, Scenario } from '../context.js'
import { KEY_COUNT, makeKeys, type SmallObject, smallObject } from '../fixtures.js'
import { type BatchTask, measureRates, runConcurrent } from '../measure.js'
import { createBentoCache, createCacheable } from '../peers.js'
import type { ScenarioResult, TargetCheck } from '../results.js'

const BATCH = 1_000
/** The TTL of the items "with a TTL": long enough that none expires during the run. */
const TTL_MS = 3_600_000

/** getOrAdd's factory in a memory-hit benchmark: every key is cached, so a call is a bug. */
function neverCalled(key: string): SmallObject {
  throw new Error(`memory-hit: getOrAdd called its factory for '${key}'`)
}

/** A loop over the keys in batches of {@link BATCH}, synchronous. */
function syncTask(name: string, keys: readonly string[], get: (key: string) => unknown): BatchTask {
  let offset = 0
  let misses = 0
  return {
    name,
    batch: BATCH,
    loop: 'sync',
    run: () => {
      const end = offset + BATCH
      for (let i = offset; i < end; i++) if (get(keys[i] as string) === undefined) misses++
      offset = end === keys.length ? 0 : end
      if (misses !== 0) throw new Error(`${name}: ${misses} misses in a memory-hit benchmark`)
    },
  }
}

/** The same loop awaiting each call. */
function asyncTask(name: string, keys: readonly string[], get: (key: string) => Promise<unknown>): BatchTask {
  let offset = 0
  let misses = 0
  return {
    name,
    batch: BATCH,
    loop: 'awaited',
    run: async () => {
      const end = offset + BATCH
      for (let i = offset; i < end; i++) if ((await get(keys[i] as string)) === undefined) misses++
      offset = end === keys.length ? 0 : end
      if (misses !== 0) throw new Error(`${name}: ${misses} misses in a memory-hit benchmark`)
    },
  }
}

/** Every cache measured, and how to close them. */
function openCaches(redisUrl: string) {
  const caches = {
    map: new Map<string, SmallObject>(),
    lru: new LRUCache<string, SmallObject>({ max: KEY_COUNT * 2 }),
    lruTtl: new LRUCache<string, SmallObject>({ max: KEY_COUNT * 2, ttl: TTL_MS }),
    // The handle alone, called synchronously: what the manager's hit path is built on.
    handle: memoryHandle<SmallObject>({ maxEntries: KEY_COUNT * 2 }),
    handleTtl: memoryHandle<SmallObject>({ maxEntries: KEY_COUNT * 2 }),
    memoryOnly: new CacheManager<SmallObject>({
      name: 'bench-memory-hit-local',
      handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 })],
    }),
    memoryTtl: new CacheManager<SmallObject>({
      name: 'bench-memory-hit-ttl',
      handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 })],
      expiration: { mode: 'absolute', ttl: TTL_MS },
    }),
    // getOrAdd refreshing eagerly: a hit also reads the item's lifetime (never past 80% here).
    memoryEager: new CacheManager<SmallObject>({
      name: 'bench-memory-hit-eager',
      handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 })],
      expiration: { mode: 'absolute', ttl: TTL_MS },
      eagerRefresh: 0.8,
    }),
    layered: new CacheManager<SmallObject>({
      name: 'bench-memory-hit',
      handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 }), redisHandle({ url: redisUrl })],
      backplane: redisBackplane({ url: redisUrl }),
    }),
    bento: createBentoCache(redisUrl, KEY_COUNT * 2),
    cacheable: createCacheable(),
  }
  const close = async () => {
    caches.handle.close()
    caches.handleTtl.close()
    await caches.memoryOnly.close()
    await caches.memoryTtl.close()
    await caches.memoryEager.close()
    await caches.layered.close()
    await caches.bento.disconnectAll()
    await caches.cacheable.disconnect()
  }
  return { ...caches, close }
}

type Caches = ReturnType<typeof openCaches>

/** Puts every key in every cache. */
async function fill(caches: Caches, keys: readonly string[], values: readonly SmallObject[]): Promise<void> {
  const created = Date.now()
  await runConcurrent(32, keys.length, async (i) => {
    const key = keys[i] as string
    const value = values[i] as SmallObject
    caches.map.set(key, value)
    caches.lru.set(key, value)
    caches.lruTtl.set(key, value)
    caches.handle.set(key, undefined, { value, mode: 'none', ttl: 0, expiresAt: 0, created })
    caches.handleTtl.set(key, undefined, {
      value,
      mode: 'absolute',
      ttl: TTL_MS,
      expiresAt: created + TTL_MS,
      created,
    })
    await caches.memoryOnly.set(key, value)
    await caches.memoryTtl.set(key, value)
    await caches.memoryEager.set(key, value)
    await caches.layered.set(key, value)
    await caches.bento.set({ key, value })
    await caches.cacheable.set(key, value)
  })
}

function tasksOf(caches: Caches, keys: readonly string[]): BatchTask[] {
  const {
    map,
    lru,
    lruTtl,
    handle,
    handleTtl,
    memoryOnly,
    memoryTtl,
    memoryEager,
    layered,
    bento,
    cacheable,
  } = caches
  return [
    syncTask('Map.get', keys, (k) => map.get(k)),
    syncTask('lru-cache get', keys, (k) => lru.get(k)),
    syncTask('memory handle get (no manager)', keys, (k) => handle.get(k, undefined)?.value),
    asyncTask('lru-cache get, awaited', keys, async (k) => lru.get(k)),
    asyncTask('CacheManager memory', keys, (k) => memoryOnly.get(k)),
    asyncTask('CacheManager memory+redis+backplane', keys, (k) => layered.get(k)),
    asyncTask('CacheManager memory getOrAdd', keys, (k) => memoryOnly.getOrAdd(k, neverCalled)),
    asyncTask('CacheManager memory+redis+backplane getOrAdd', keys, (k) => layered.getOrAdd(k, neverCalled)),
    syncTask('CacheManager memory peek (sync)', keys, (k) => memoryOnly.peek(k)),
    syncTask('CacheManager memory+redis+backplane peek (sync)', keys, (k) => layered.peek(k)),
    syncTask('lru-cache get, with a TTL', keys, (k) => lruTtl.get(k)),
    syncTask('memory handle get (no manager), with a TTL', keys, (k) => handleTtl.get(k, undefined)?.value),
    asyncTask('CacheManager memory, with a TTL', keys, (k) => memoryTtl.get(k)),
    asyncTask('CacheManager memory getOrAdd, with a TTL, eagerRefresh 0.8', keys, (k) =>
      memoryEager.getOrAdd(k, neverCalled),
    ),
    syncTask('CacheManager memory peek (sync), with a TTL', keys, (k) => memoryTtl.peek(k)),
    asyncTask('BentoCache memory+redis+bus', keys, (k) => bento.get({ key: k })),
    asyncTask('cacheable (memory primary)', keys, (k) => cacheable.get(k)),
  ]
}

/** The targets: ours against lru-cache and BentoCache, getOrAdd against get. */
function targetsOf(rate: (name: string) => number): TargetCheck[] {
  const lruRate = rate('lru-cache get')
  const bentoRate = rate('BentoCache memory+redis+bus')
  const ours = Math.min(rate('CacheManager memory'), rate('CacheManager memory+redis+backplane'))
  const lruAwaited = rate('lru-cache get, awaited')
  const peek = Math.min(
    rate('CacheManager memory peek (sync)'),
    rate('CacheManager memory+redis+backplane peek (sync)'),
  )
  const getOrAddRatio = Math.min(
    rate('CacheManager memory getOrAdd') / rate('CacheManager memory'),
    rate('CacheManager memory+redis+backplane getOrAdd') / rate('CacheManager memory+redis+backplane'),
  )
  return [
    {
      target: 'memory-hit get >= 0.5x lru-cache get',
      measured: `${(ours / lruRate).toFixed(2)}x (slower of our two setups; an awaited lru-cache get itself is ${(lruAwaited / lruRate).toFixed(2)}x, ours are ${(ours / lruAwaited).toFixed(2)}x of that)`,
      met: ours / lruRate >= 0.5,
    },
    {
      target: 'memory-hit getOrAdd within 5% of memory-hit get (same run)',
      measured: `${getOrAddRatio.toFixed(3)}x (the lower of our two setups' getOrAdd/get ratios)`,
      met: getOrAddRatio >= 0.95,
    },
    {
      target: 'memory-hit synchronous peek >= 0.5x lru-cache get',
      measured: `${(peek / lruRate).toFixed(2)}x (slower of our two setups)`,
      met: peek / lruRate >= 0.5,
    },
    ...ttlTargets(rate),
    {
      target: 'memory-hit get >= 10x BentoCache',
      measured: `${(ours / bentoRate).toFixed(1)}x`,
      met: ours / bentoRate >= 10,
    },
  ]
}

/** Items with a TTL: the peek bar against lru-cache with one, and what the TTL costs each. */
function ttlTargets(rate: (name: string) => number): TargetCheck[] {
  const peek = rate('CacheManager memory peek (sync), with a TTL')
  const vsLru = peek / rate('lru-cache get, with a TTL')
  const ours = peek / rate('CacheManager memory peek (sync)')
  const lru = rate('lru-cache get, with a TTL') / rate('lru-cache get')
  return [
    {
      target: 'memory-hit synchronous peek, items with a TTL, >= 0.5x lru-cache get with a TTL',
      measured: `${vsLru.toFixed(2)}x (a TTL changes the rate of our peek by ${change(ours)}, of lru-cache's get by ${change(lru)})`,
      met: vsLru >= 0.5,
    },
  ]
}

/** A rate ratio as a signed change ("-12%"). */
const change = (ratio: number): string => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(0)}%`

function report(tasks: readonly BatchTask[], rates: Map<string, number>): ScenarioResult {
  const rate = (name: string): number => rates.get(name) ?? Number.NaN
  const rows = tasks.map((t) => ({
    subject: t.name,
    loop: t.loop,
    rate: rate(t.name),
    vsLru: rate(t.name) / rate('lru-cache get'),
    vsBento: rate(t.name) / rate('BentoCache memory+redis+bus'),
  }))
  const ours = (subject: string) => subject.startsWith('CacheManager') || subject.startsWith('memory handle')
  return {
    name: 'memory-hit',
    title: 'Memory-hit get (10,000 keys, small objects)',
    description:
      'Every key is in the memory tier. Async APIs are awaited per call; Map, lru-cache and the bare memory handle are called synchronously (their own get rate). Timed on process CPU time (no I/O is involved), so time the process spent descheduled by other load does not count.',
    columns: [
      { key: 'subject', title: 'subject' },
      { key: 'loop', title: 'loop' },
      { key: 'rate', title: 'gets/s', format: 'ops' },
      { key: 'vsLru', title: 'vs lru-cache', format: 'ratio' },
      { key: 'vsBento', title: 'vs BentoCache', format: 'ratio' },
    ],
    rows,
    targets: targetsOf(rate),
    charts: [
      {
        title: 'Memory-hit get',
        unit: 'gets/s',
        bars: rows.map((r) => ({ label: r.subject, value: r.rate, ours: ours(r.subject) })),
      },
    ],
  }
}

export const memoryHit: Scenario = {
  name: 'memory-hit',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const caches = openCaches(await context.servers.redis())
    const keys = makeKeys(KEY_COUNT)
    try {
      await caches.layered.ready()
      context.log('memory-hit: filling every cache with 10,000 small objects')
      await fill(
        caches,
        keys,
        keys.map((_, i) => smallObject(i)),
      )
      const tasks = tasksOf(caches, keys)
      context.log('memory-hit: measuring')
      // Pure CPU loops (every get is a memory hit): timed on process CPU time, see MeasureOptions.
      return report(tasks, await measureRates(tasks, { ...context.measure, clock: 'cpu' }))
    } finally {
      await caches.close()
    }
  },
}
