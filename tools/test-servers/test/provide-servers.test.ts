import type { TestProject } from 'vitest/node'
import { describe, expect, it } from 'vitest'
import { type ProvidedServers, provideServers } from '../src/index.js'
import { parseHostPort } from '../src/running-server.js'
import { rawExchange, refuses } from './probe-helpers.js'

for (const name of ['REDIS_URL', 'MEMCACHED_URL', 'NATS_URL']) delete process.env[name]

function fakeProject() {
  const provided: Partial<ProvidedServers> = {}
  const project = {
    provide(key: keyof ProvidedServers, value: unknown) {
      Object.assign(provided, { [key]: value })
    },
  } as unknown as TestProject
  return { project, provided }
}

describe('provideServers', () => {
  it('starts the requested servers, provides their addresses and stops them on teardown', async () => {
    const { project, provided } = fakeProject()
    const teardown = await provideServers(project, ['redis', 'memcached', 'memcached2', 'nats'])
    const redis = parseHostPort(provided.redisUrl!, 6379)
    const memcached = parseHostPort(provided.memcachedServers!, 11211)
    const pool = provided.memcachedServers2!.split(',').map((server) => parseHostPort(server, 11211))
    const nats = parseHostPort(provided.natsUrl!, 4222)
    try {
      expect(provided.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/)
      expect(await rawExchange(redis.host, redis.port, 'PING\r\n', '+PONG')).toContain('+PONG')
      expect(await rawExchange(memcached.host, memcached.port, 'version\r\n', 'VERSION')).toContain('VERSION')
      expect(pool).toHaveLength(2)
      expect(new Set([memcached.port, ...pool.map((server) => server.port)]).size).toBe(3)
      for (const server of pool) {
        expect(await rawExchange(server.host, server.port, 'version\r\n', 'VERSION')).toContain('VERSION')
      }
      expect(await rawExchange(nats.host, nats.port, 'PING\r\n', 'PONG')).toMatch(/"jetstream":true/)
    } finally {
      await teardown()
    }
    for (const server of [redis, memcached, ...pool, nats]) {
      expect(await refuses(server.host, server.port)).toBe(true)
    }
  })

  it('uses a MEMCACHED_URL that lists two servers for memcachedServers2 without starting any', async () => {
    process.env.MEMCACHED_URL = '127.0.0.1:1,127.0.0.1:2'
    try {
      const { project, provided } = fakeProject()
      const teardown = await provideServers(project, ['memcached', 'memcached2'])
      expect(provided).toEqual({
        memcachedServers: '127.0.0.1:1,127.0.0.1:2',
        memcachedServers2: '127.0.0.1:1,127.0.0.1:2',
      })
      await teardown()
    } finally {
      delete process.env.MEMCACHED_URL
    }
  })

  it('stops what started when another kind fails', async () => {
    const { project, provided } = fakeProject()
    // An unreadable NATS_URL makes the NATS starter fail while Redis starts normally.
    process.env.NATS_URL = 'nats://'
    try {
      await expect(provideServers(project, ['redis', 'nats'])).rejects.toThrow(/cannot read a host:port/)
      const redis = parseHostPort(provided.redisUrl!, 6379)
      expect(await refuses(redis.host, redis.port)).toBe(true)
    } finally {
      delete process.env.NATS_URL
    }
  })
})
