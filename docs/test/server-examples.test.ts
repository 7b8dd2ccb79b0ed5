/** The samples that need servers, run against servers started by @cacheplane/test-servers. */
import { decodeEnvelope } from '@cacheplane/core'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { main as memcachedPool } from '../examples/adapters/memcached.js'
import { main as natsPlain } from '../examples/adapters/nats-plain.js'
import { main as natsReplay } from '../examples/adapters/nats-replay.js'
import { main as redisKeyspace } from '../examples/adapters/redis-keyspace.js'
import { main as redisUrl } from '../examples/adapters/redis-url.js'
import { main as fromCacheManager } from '../examples/coming-from-cachemanager/configuration.js'
import { main as gettingStarted } from '../examples/getting-started/redis.js'
import { main as readmeQuickStart } from '../examples/readme/quick-start.js'
import {
  type RunningServer,
  startMemcached,
  startNats,
  startOwnMemcached,
  startRedis,
} from '@cacheplane/test-servers'

let redis: RunningServer
let nats: RunningServer
let memcached: RunningServer[] = []
const redisAt = () => redis.url
const natsAt = () => nats.url

/** A version as the writer draws it: a positive safe integer (never counted from 1). */
const isVersion = (version: number | undefined) => Number.isSafeInteger(version) && (version ?? 0) >= 1

/** The version in the envelope the Redis handle stores at `key`. */
async function storedVersion(client: Redis, key: string): Promise<number | undefined> {
  const stored = await client.getBuffer(key)
  return stored === null ? undefined : decodeEnvelope(stored).version
}

beforeAll(async () => {
  ;[redis, nats, ...memcached] = await Promise.all([
    startRedis(),
    startNats(),
    startMemcached(),
    startOwnMemcached(),
  ])
  // A server named by REDIS_URL may hold what an earlier run wrote.
  const client = new Redis(redisAt())
  await client.del('cacheplane:users::42', 'app1:pages::home')
  client.disconnect()
})
afterAll(async () => {
  await Promise.all([redis, nats, ...memcached].map((server) => server?.stop()))
})

test('getting started: memory + Redis + Redis backplane', async () => {
  expect(await gettingStarted(redisAt())).toEqual({ id: '42', name: 'user 42', visits: 0 })
  const client = new Redis(redisAt())
  try {
    expect(isVersion(await storedVersion(client, 'cacheplane:users::42'))).toBe(true) // added, then updated
  } finally {
    client.disconnect()
  }
})

test('README: the quick-start sample adds, then updates a user', async () => {
  const client = new Redis(redisAt())
  try {
    await client.del('cacheplane:users::42')
    expect(await readmeQuickStart(redisAt())).toEqual({ id: '42', name: 'user 42', visits: 0 })
    expect(isVersion(await storedVersion(client, 'cacheplane:users::42'))).toBe(true) // added, then updated
  } finally {
    client.disconnect()
  }
})

test('adapters/redis: connections from a URL, keys under the prefix', async () => {
  await redisUrl(redisAt())
  const client = new Redis(redisAt())
  try {
    expect(await client.exists('app1:pages::home')).toBe(1)
  } finally {
    client.disconnect()
  }
})

test('adapters/redis: keyspace notifications configured by bind()', async () => {
  const client = new Redis(redisAt())
  try {
    const cache = await redisKeyspace(client)
    await cache.close()
    expect(String(await client.config('GET', 'notify-keyspace-events'))).toMatch(/E/)
  } finally {
    client.disconnect()
  }
})

test('adapters/memcached: two servers, a NATS backplane, a region cleared by generation', async () => {
  const servers = memcached.map((server) => `${server.host}:${server.port}`)
  expect(await memcachedPool(servers, natsAt())).toBeUndefined()
})

test('adapters/nats: plain', async () => {
  expect(await natsPlain([natsAt()], redisAt())).toMatchObject({ connected: true, framesSent: 1 })
})

test('adapters/nats: JetStream replay (one server, so one replica)', async () => {
  expect(await natsReplay([natsAt()], redisAt(), 1)).toMatchObject({ connected: true, framesSent: 1 })
})

test('coming from CacheManager: the configuration, translated', async () => {
  await fromCacheManager(redisAt())
  const client = new Redis(redisAt())
  try {
    const stored = await client.getBuffer('cacheplane:users::42')
    expect(stored && new TextDecoder().decode(decodeEnvelope(stored).value)).toContain('"name":"Ada"') // JSON bytes
  } finally {
    client.disconnect()
  }
})
