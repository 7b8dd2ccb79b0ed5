import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { main as redisKeyspace } from '../examples/adapters/redis-keyspace.js'
import { main as redisUrl } from '../examples/adapters/redis-url.js'
import { main as gettingStarted } from '../examples/getting-started/redis.js'
import { startRedis, type TestRedis } from './redis-server.js'

let redis: TestRedis
beforeAll(async () => {
  redis = await startRedis()
  // A server named by REDIS_URL may hold what an earlier run wrote.
  const client = new Redis(redis.url)
  await client.del('cacheplane:users::42', 'app1:pages::home')
  client.disconnect()
})
afterAll(async () => {
  await redis?.stop()
})

test('getting started: memory + Redis + Redis backplane', async () => {
  expect(await gettingStarted(redis.url)).toEqual({ id: '42', name: 'user 42', visits: 0 })
  const client = new Redis(redis.url)
  try {
    expect(await client.hget('cacheplane:users::42', 'r')).toBe('2') // added, then updated
  } finally {
    client.disconnect()
  }
})

test('adapters/redis: connections from a URL, keys under the prefix', async () => {
  await redisUrl(redis.url)
  const client = new Redis(redis.url)
  try {
    expect(await client.exists('app1:pages::home')).toBe(1)
  } finally {
    client.disconnect()
  }
})

test('adapters/redis: keyspace notifications configured by bind()', async () => {
  const client = new Redis(redis.url)
  try {
    const cache = await redisKeyspace(client)
    await cache.close()
    expect(String(await client.config('GET', 'notify-keyspace-events'))).toMatch(/E/)
  } finally {
    client.disconnect()
  }
})
