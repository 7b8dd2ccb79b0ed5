import { describe, expect, it } from 'vitest'
import { findBinary } from '../src/binaries.js'
import { freePort, freePorts } from '../src/free-port.js'
import { probes } from '../src/probe.js'
import { startProcessServer } from '../src/process-server.js'
import { startRedis } from '../src/index.js'

delete process.env.REDIS_URL

describe('free ports', () => {
  it('are never handed out twice in one process', async () => {
    const first = await freePorts(40)
    const second = await Promise.all(Array.from({ length: 20 }, () => freePort()))
    expect(new Set([...first, ...second]).size).toBe(60)
  })
})

describe('readiness probe', () => {
  it('does not mistake a server already on the port for the one being started', async () => {
    const existing = await startRedis()
    try {
      const start = startProcessServer({
        kind: 'redis',
        binary: findBinary('redis-server')!,
        port: existing.port,
        args: (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
        probe: probes.redis,
        url: (host, port) => `redis://${host}:${port}`,
      })
      await expect(start).rejects.toThrow(/exited with 1[\s\S]*Address already in use/)
    } finally {
      await existing.stop()
    }
  })
})
