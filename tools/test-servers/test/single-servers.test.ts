import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { type RunningServer, startMemcached, startNats, startRedis } from '../src/index.js'
import { rawExchange, refuses } from './probe-helpers.js'

// These tests exercise the local-binary path (no container engine here); the env overrides
// are cleared so a developer's REDIS_URL does not turn them into no-ops.
for (const name of ['REDIS_URL', 'MEMCACHED_URL', 'NATS_URL']) delete process.env[name]

const started: RunningServer[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.stop()))
})

async function track(server: Promise<RunningServer>): Promise<RunningServer> {
  const running = await server
  started.push(running)
  return running
}

describe('startRedis', () => {
  it('answers PING, restarts and comes back after a kill on the same port', async () => {
    const server = await track(startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] }))
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
    try {
      await client.connect()
      expect(await client.ping()).toBe('PONG')
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru'])
      expect(await client.config('GET', 'save')).toEqual(['save', ''])
    } finally {
      client.disconnect()
    }
    await server.restart()
    expect(await rawExchange(server.host, server.port, 'PING\r\n', '+PONG')).toContain('+PONG')
    await server.kill()
    expect(await refuses(server.host, server.port)).toBe(true)
    await server.restart()
    expect(await rawExchange(server.host, server.port, 'PING\r\n', '+PONG')).toContain('+PONG')
  })

  it('stop() frees the port', async () => {
    const server = await startRedis()
    await server.stop()
    expect(await refuses(server.host, server.port)).toBe(true)
  })
})

describe('startMemcached', () => {
  it('answers version and honours the item size limit', async () => {
    const server = await track(startMemcached({ memoryMb: 16, maxItemSize: '2m' }))
    expect(server.url).toBe(`127.0.0.1:${server.port}`)
    expect(await rawExchange(server.host, server.port, 'version\r\n', '\r\n')).toMatch(/^VERSION \d/)
    const stats = await rawExchange(server.host, server.port, 'stats settings\r\n', 'END\r\n')
    expect(stats).toContain('STAT item_size_max 2097152')
    expect(stats).toContain('STAT maxbytes 16777216')
    await server.restart()
    expect(await rawExchange(server.host, server.port, 'version\r\n', '\r\n')).toMatch(/^VERSION \d/)
  })
})

describe('startNats', () => {
  it('answers PING with PONG, with JetStream on by default', async () => {
    const server = await track(startNats())
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`)
    const info = await rawExchange(server.host, server.port, 'CONNECT {"verbose":false}\r\nPING\r\n', 'PONG')
    expect(info).toMatch(/"jetstream":true/)
    await server.restart()
    expect(await rawExchange(server.host, server.port, 'PING\r\n', 'PONG')).toContain('PONG')
  })

  it('can run without JetStream', async () => {
    const server = await track(startNats({ jetstream: false }))
    const info = await rawExchange(server.host, server.port, 'PING\r\n', 'PONG')
    expect(info).not.toMatch(/"jetstream":true/)
  })
})

describe('environment overrides', () => {
  it('returns an external server whose stop is a no-op and whose restart/kill throw', async () => {
    process.env.MEMCACHED_URL = '127.0.0.1:1,127.0.0.1:2'
    try {
      const server = await startMemcached()
      expect(server).toMatchObject({ host: '127.0.0.1', port: 1, url: '127.0.0.1:1,127.0.0.1:2' })
      await server.stop()
      await expect(server.restart()).rejects.toThrow(/external \(from MEMCACHED_URL\)/)
      await expect(server.kill()).rejects.toThrow(/external/)
    } finally {
      delete process.env.MEMCACHED_URL
    }
  })
})
