import { mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createTcpServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { detectContainerRuntime } from '../src/container-runtime.js'

const saved = { DOCKER_HOST: process.env.DOCKER_HOST, TEST_SERVERS_RUNTIME: process.env.TEST_SERVERS_RUNTIME }
let dir: string
const servers: Server[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cacheplane-docker-sock-'))
  delete process.env.TEST_SERVERS_RUNTIME
})

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
  rmSync(dir, { recursive: true, force: true })
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
})

function listen(server: Server, path: string): Promise<void> {
  servers.push(server)
  return new Promise((resolve) => server.listen(path, resolve))
}

describe('detectContainerRuntime', () => {
  it('is true when the engine socket answers /_ping', async () => {
    const socketPath = join(dir, 'docker.sock')
    await listen(
      createHttpServer((req, res) => {
        res.writeHead(req.url === '/_ping' ? 200 : 404).end('OK')
      }),
      socketPath,
    )
    process.env.DOCKER_HOST = `unix://${socketPath}`
    expect(await detectContainerRuntime()).toBe(true)
  })

  it('is false, within a few seconds, when the socket accepts but never answers', async () => {
    const socketPath = join(dir, 'docker.sock')
    // Reads (so it sees the client hang up) but never answers.
    await listen(
      createTcpServer((socket) => socket.resume()),
      socketPath,
    )
    process.env.DOCKER_HOST = `unix://${socketPath}`
    const started = Date.now()
    expect(await detectContainerRuntime()).toBe(false)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('is false when nothing listens at DOCKER_HOST', async () => {
    process.env.DOCKER_HOST = `unix://${join(dir, 'missing.sock')}`
    expect(await detectContainerRuntime()).toBe(false)
  })

  it('is false when TEST_SERVERS_RUNTIME=binaries, even with an engine', async () => {
    const socketPath = join(dir, 'docker.sock')
    await listen(
      createHttpServer((_req, res) => {
        res.writeHead(200).end('OK')
      }),
      socketPath,
    )
    process.env.DOCKER_HOST = `unix://${socketPath}`
    process.env.TEST_SERVERS_RUNTIME = 'binaries'
    expect(await detectContainerRuntime()).toBe(false)
  })
})
