/**
 * Two processes `set` the same keys at the same time while one of them hears its store's replies
 * late (a store in another zone, a congested link): a delaying proxy sits between that writer and
 * the store. After the writers stop, every process must read what the store holds. Without the
 * write fence, the late writer installed its own, already replaced value in its memory layer after
 * the other writer's invalidation had been applied (to nothing), and served it forever.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { startTcpProxy } from '@cacheplane/test-servers'
import { describe, expect, inject, it } from 'vitest'
import { addressOf } from '../src/addresses.js'
import { type Worker, WorkerPool } from '../src/harness.js'
import { slowSystem } from '../src/slow-system.js'
import type { Address, BackplaneSpec, StoreSpec } from '../src/worker/topology.js'

const pool = new WorkerPool()
const KEYS = 10
/**
 * Rounds of writing: in each, both writers set the round's keys until the same moment, so their
 * last writes race. Whether the late writer's last write lands inside the window that loses
 * depends on where its round ended, so many short rounds (each with its own keys) make the race
 * certain to be hit in every run rather than in some.
 */
const ROUNDS = 20
const ROUND_MS = 100
const REPLY_DELAY_MS = 5

interface Store {
  readonly label: string
  address(): Address
  spec(address: Address): StoreSpec
}

const stores: Store[] = [
  {
    label: 'Redis',
    address: () => addressOf(inject('redisUrl')),
    spec: ({ host, port }) => ({ kind: 'redis', url: `redis://${host}:${port}` }),
  },
  {
    label: 'Memcached',
    address: () => addressOf(inject('memcachedServers')),
    spec: ({ host, port }) => ({ kind: 'memcached', servers: `${host}:${port}` }),
  },
]

interface BackplaneCase {
  readonly label: string
  /** On the store's client (the README's setup): `store` is the address that writer's store is at. */
  readonly oneClient?: boolean
  spec(store: Address): BackplaneSpec
}

const backplanes: BackplaneCase[] = [
  { label: 'Redis backplane', spec: () => ({ kind: 'redis', url: inject('redisUrl') }) },
  { label: 'NATS backplane', spec: () => ({ kind: 'nats', servers: [inject('natsUrl')] }) },
]

/** The late writer's PUBLISH follows its SET through the proxy, so its set is announced with the SET. */
const onStoreClient: BackplaneCase = {
  label: "Redis backplane on the store's client",
  oneClient: true,
  spec: ({ host, port }) => ({ kind: 'redis', url: `redis://${host}:${port}` }),
}

const cases = [
  ...stores.flatMap((store) => backplanes.map((backplane) => ({ store, backplane }))),
  { store: stores[0]!, backplane: onStoreClient },
]

describe.each(cases)('memory + $store.label + $backplane.label', ({ store, backplane }) => {
  it(`two concurrent writers, one hearing its store ${REPLY_DELAY_MS} ms late: afterwards every process reads what the store holds`, async () => {
    const proxy = await startTcpProxy(store.address())
    try {
      proxy.delay(REPLY_DELAY_MS, 'replies')
      const cacheName = randomKey('writers')
      const topology = (address: Address) => ({
        label: store.label,
        store: store.spec(address),
        backplane: backplane.spec(address),
        oneClient: backplane.oneClient,
      })
      const late = await pool.spawn({ cacheName, topology: topology(proxy), workerId: 'late' })
      const [prompt, reader] = await pool.spawnMany(2, { cacheName, topology: topology(store.address()) })
      if (prompt === undefined || reader === undefined) throw new Error('workers')
      const keys: string[] = []
      for (let round = 0; round < ROUNDS; round++) {
        const roundKeys = Array.from({ length: KEYS }, (_, i) => randomKey(`r${round}k${i}`))
        keys.push(...roundKeys)
        const until = Date.now() + ROUND_MS
        const counts = await Promise.all(
          [late, prompt].map((w) => w.call({ op: 'setLoop', keys: roundKeys, until }, 30_000)),
        )
        expect(Math.min(...counts)).toBeGreaterThan(0)
      }
      // A process that never read these keys reads the store: what every process must converge on.
      const [source] = await pool.spawnMany(1, { cacheName, topology: topology(store.address()) }, 'src')
      if (source === undefined) throw new Error('source worker')
      await converged([late, prompt, reader], source, keys)
    } finally {
      await proxy.close()
    }
  })
})

/** Waits (with a deadline) until every worker reads, for every key, exactly what `source` reads. */
async function converged(workers: Worker[], source: Worker, keys: string[]): Promise<void> {
  const stored = await Promise.all(keys.map((key) => source.call({ op: 'get', key })))
  let differing: string[] = []
  await waitFor(
    async () => {
      differing = []
      for (const worker of workers) {
        const reads = await Promise.all(keys.map((key) => worker.call({ op: 'get', key })))
        reads.forEach((read, i) => {
          const expected = stored[i]?.value
          if (expected === undefined) throw new Error(`the store has no ${keys[i]}`)
          if (read?.value.v !== expected.v || read.value.by !== expected.by) {
            differing.push(
              `${worker.name} ${keys[i]}: ${JSON.stringify(read?.value)}, store ${JSON.stringify(expected)}`,
            )
          }
        })
      }
      return differing.length === 0
    },
    {
      ...slowSystem,
      timeoutMs: 10_000,
      intervalMs: 100,
      message: 'every process to read what the store holds',
    },
  ).catch((error: Error) => {
    throw new Error(`${error.message}; ${differing.length} reads differ: ${differing.slice(0, 5).join('; ')}`)
  })
}
