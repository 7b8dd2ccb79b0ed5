/**
 * `set` through memory + Redis + Redis backplane against raw ioredis SET of the same
 * object as JSON (JSON.stringify included), at concurrency 1 and 64, and BentoCache's
 * multi-tier set (memory + Redis + bus), the peer users would pick instead.
 *
 * The protocol controls do with raw ioredis the work any backplane write must add to a
 * SET: the keys written in one tick are published in one message once their SETs are
 * acknowledged, and a subscriber connection of the same process receives that message
 * back (Redis pub/sub delivers to every subscriber of the channel, the publisher's own
 * included), while the caller waits for its SET only, as `CacheManager.set` does.
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
  /** A raw protocol control: SET, then the tick's keys published and received back. */
  readonly protocol?: boolean
  set(key: string, value: SmallObject): Promise<unknown>
}

/** The raw clients measured, and the publisher and subscriber of the protocol controls. */
interface RawClients {
  readonly plain: Redis
  readonly pipelined: Redis
  readonly corked: Redis
  readonly publisher: Redis
  readonly subscriber: Redis
}

const PROTOCOL_CHANNEL = 'bench-set-protocol'

/**
 * A raw client's SET followed by the backplane's share of a write: the keys whose SETs
 * were acknowledged in one tick leave in one PUBLISH (in a microtask, as cacheplane's
 * idle bus does), not awaited by the caller.
 */
function protocolWriter(client: Redis, publisher: Redis): (key: string, value: SmallObject) => Promise<void> {
  let batch: string[] = []
  const flush = (): void => {
    const keys = batch
    batch = []
    // Not awaited, as the bus's publish is not awaited by set(); a publish the teardown cuts
    // short is no error of the control's.
    publisher.publish(PROTOCOL_CHANNEL, keys.join('\n')).catch(() => undefined)
  }
  return async (key, value) => {
    await client.set(`raw:${key}`, JSON.stringify(value))
    if (batch.push(key) === 1) queueMicrotask(flush)
  }
}

/** The CacheManager setups measured. */
interface Caches {
  /** Handle and backplane opened from one `url`: they share the connection cacheplane opens. */
  readonly fromUrl: CacheManager<SmallObject>
  /** Handle and backplane opened from `url` with `shareConnection: false`: a connection each. */
  readonly separate: CacheManager<SmallObject>
  /** The README's setup: one client, corked, for the handle and the backplane. */
  readonly oneClient: CacheManager<SmallObject>
}

function subjectsOf(caches: Caches, bento: ReturnType<typeof createBentoCache>, raw: RawClients): Subject[] {
  const protocolPlain = protocolWriter(raw.plain, raw.publisher)
  const protocolPipelined = protocolWriter(raw.pipelined, raw.publisher)
  return [
    { name: 'CacheManager memory+redis+backplane', ours: true, set: (k, v) => caches.fromUrl.set(k, v) },
    {
      name: 'CacheManager memory+redis+backplane, a connection each (shareConnection: false)',
      ours: true,
      set: (k, v) => caches.separate.set(k, v),
    },
    {
      name: "CacheManager memory+redis+backplane, one corked client for both (the README's setup)",
      ours: true,
      set: (k, v) => caches.oneClient.set(k, v),
    },
    {
      name: 'BentoCache memory+redis+bus',
      ours: false,
      peer: true,
      set: (k, v) => bento.set({ key: k, value: v }),
    },
    {
      name: 'raw ioredis SET (JSON.stringify)',
      ours: false,
      set: (k, v) => raw.plain.set(`raw:${k}`, JSON.stringify(v)),
    },
    {
      name: 'raw ioredis (auto-pipelining) SET',
      ours: false,
      set: (k, v) => raw.pipelined.set(`raw:${k}`, JSON.stringify(v)),
    },
    {
      name: 'raw ioredis SET, writes corked per tick (corkWrites)',
      ours: false,
      corked: true,
      set: (k, v) => raw.corked.set(`raw:${k}`, JSON.stringify(v)),
    },
    {
      name: 'raw ioredis SET + publish per tick + own echo (protocol control)',
      ours: false,
      protocol: true,
      set: protocolPlain,
    },
    {
      name: 'raw ioredis (auto-pipelining) SET + publish per tick + own echo (protocol control)',
      ours: false,
      protocol: true,
      set: protocolPipelined,
    },
  ]
}

/** The table of the measured rates. */
function report(subjects: readonly Subject[], rates: Map<string, number>): ScenarioResult {
  const rate = (name: string, c: number): number => rates.get(`${name} @${c}`) ?? Number.NaN
  const best = (c: number, pick: (s: Subject) => boolean): number =>
    Math.max(...subjects.filter(pick).map((s) => rate(s.name, c)))
  const isRaw = (s: Subject): boolean =>
    !s.ours && s.peer !== true && s.corked !== true && s.protocol !== true
  const isProtocol = (s: Subject): boolean => s.protocol === true
  const corked = subjects.find((s) => s.corked === true)!
  const rows: Array<Record<string, Cell>> = []
  for (const c of CONCURRENCY) {
    for (const s of subjects) {
      const compared = s.ours || s.peer === true || isProtocol(s)
      const ratio = (base: number): Cell => (compared ? rate(s.name, c) / base : '')
      rows.push({
        subject: s.name,
        concurrency: c,
        rate: rate(s.name, c),
        vsRaw: ratio(best(c, isRaw)),
        vsCorked: ratio(rate(corked.name, c)),
        vsProtocol: isProtocol(s) ? '' : ratio(best(c, isProtocol)),
      })
    }
  }
  return {
    name: 'set',
    title: 'set through memory + Redis + backplane',
    description:
      'CacheManager.set writes Redis (one plain SET of the item envelope, with a version the writer drew), then memory, then queues the invalidation for the backplane; measured with the connection cacheplane opens from `url` (one, shared by the handle and the backplane, so the PUBLISH follows the SETs on it), with a connection each (`shareConnection: false`: announced after the reply), and with one client given to the handle and the backplane, corked (`corkWrites`), as the README sets them up (the PUBLISH then follows the SETs on that connection, and a set is announced as soon as its SET is sent). The raw client does one SET of the JSON. BentoCache writes its memory tier and Redis and publishes on its bus. "vs raw" divides by the faster of the plain and the auto-pipelined raw client (the baseline of issue 16); "vs raw corked" by a raw client given cacheplane\'s own socket batching (`corkWrites`: the commands of one tick in one write), which ioredis users do not get by default; "vs protocol" by the faster protocol control, raw ioredis doing what any backplane write adds to a SET (the keys acknowledged in one tick published in one message, and that message received back by the process\'s own subscriber).',
    columns: [
      { key: 'subject', title: 'subject' },
      { key: 'concurrency', title: 'concurrency', format: 'int' },
      { key: 'rate', title: 'sets/s', format: 'ops' },
      { key: 'vsRaw', title: 'vs raw', format: 'ratio' },
      { key: 'vsCorked', title: 'vs raw corked', format: 'ratio' },
      { key: 'vsProtocol', title: 'vs protocol', format: 'ratio' },
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
    const client = new Redis(redisUrl)
    corkWrites(client)
    const caches: Caches = {
      fromUrl: new CacheManager<SmallObject>({
        name: 'bench-set',
        handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 }), redisHandle({ url: redisUrl })],
        backplane: redisBackplane({ url: redisUrl }),
      }),
      separate: new CacheManager<SmallObject>({
        name: 'bench-set-separate',
        handles: [
          memoryHandle({ maxEntries: KEY_COUNT * 2 }),
          redisHandle({ url: redisUrl, shareConnection: false }),
        ],
        backplane: redisBackplane({ url: redisUrl, shareConnection: false }),
      }),
      oneClient: new CacheManager<SmallObject>({
        name: 'bench-set-one-client',
        handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 }), redisHandle({ client })],
        backplane: redisBackplane({ client }),
      }),
    }
    const raw: RawClients = {
      plain: new Redis(redisUrl),
      pipelined: new Redis(redisUrl, { enableAutoPipelining: true }),
      corked: new Redis(redisUrl),
      publisher: new Redis(redisUrl),
      subscriber: new Redis(redisUrl),
    }
    corkWrites(raw.corked)
    const bento = createBentoCache(redisUrl, KEY_COUNT * 2)
    try {
      await Promise.all(Object.values(caches).map((cache) => cache.ready()))
      // The echo is received as bytes and dropped: the work of reading it is the point.
      raw.subscriber.on('messageBuffer', () => {})
      await raw.subscriber.subscribe(PROTOCOL_CHANNEL)
      const subjects = subjectsOf(caches, bento, raw)
      const tasks = CONCURRENCY.flatMap((c) =>
        subjects.map((s) =>
          keyedTask(s.name, c, keys.length, (index) =>
            s.set(keys[index] as string, values[index] as SmallObject),
          ),
        ),
      )
      context.log('set: measuring')
      const rates = await measureRates(tasks, context.measure)
      await Promise.all(Object.values(caches).map((cache) => cache.flush()))
      return report(subjects, rates)
    } finally {
      await Promise.all(Object.values(caches).map((cache) => cache.close()))
      client.disconnect()
      for (const rawClient of Object.values(raw)) rawClient.disconnect()
      await bento.disconnect()
    }
  },
}
