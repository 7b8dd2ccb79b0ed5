/**
 * A throwaway `redis-server` on a free local port for the samples that need Redis, or
 * the server `REDIS_URL` names. `.ci/run` installs redis-server; so does the README's
 * `apt-get install` line.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { waitFor } from '@cacheplane/core/testing'
import { Redis } from 'ioredis'

/** A running server and how to stop it. */
export interface TestRedis {
  readonly url: string
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no TCP port')
  return address.port
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** Starts redis-server (or uses REDIS_URL) and waits until it answers PING. */
export async function startRedis(): Promise<TestRedis> {
  const given = process.env.REDIS_URL
  if (given !== undefined && given !== '') return { url: given, stop: async () => {} }
  const port = await freePort()
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const failed = once(child, 'error').then(([error]) => {
    throw new Error(`could not start redis-server (apt-get install -y redis-server): ${String(error)}`)
  })
  const url = `redis://127.0.0.1:${port}`
  await Promise.race([
    waitFor(() => answers(url), { timeoutMs: 15_000, message: `redis-server on ${port}` }),
    failed,
  ])
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}
