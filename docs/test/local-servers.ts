/**
 * Throwaway servers on free local ports for the samples that need them: `redis-server`,
 * `memcached` and `nats-server` (all installed by `.ci/run`, and by the README's
 * `apt-get install` line). `REDIS_URL`, `MEMCACHED_URL` and `NATS_URL` name servers to
 * use instead.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { waitFor } from '@cacheplane/core/testing'

/** A running server and how to stop it. */
export interface LocalServer {
  /** `host:port`. */
  readonly address: string
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (address === null || typeof address === 'string') throw new Error('no free TCP port')
  return address.port
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

// Debian installs nats-server into /usr/sbin, which is not on every PATH.
function binary(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']) {
    if (dir === '') continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not installed (Debian: apt-get install -y redis-server memcached nats-server)`)
}

async function start(name: string, args: (port: number) => string[], cleanup?: () => void) {
  const port = await freePort()
  const child: ChildProcess = spawn(binary(name), args(port), { stdio: 'ignore' })
  const failed = once(child, 'exit').then(([code]) => {
    throw new Error(`${name} exited with code ${String(code)} before accepting connections`)
  })
  failed.catch(() => {}) // only raced below; an exit after startup is not an error here
  await Promise.race([
    waitFor(() => accepts(port), { timeoutMs: 15_000, message: `${name} on ${port}` }),
    failed,
  ])
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        await exited
      }
      cleanup?.()
    },
  }
}

const given = (variable: string, strip: RegExp): LocalServer | undefined => {
  const value = process.env[variable]
  return value ? { address: value.replace(strip, ''), stop: async () => {} } : undefined
}

/** A standalone Redis without persistence. */
export async function startRedis(): Promise<LocalServer> {
  return (
    given('REDIS_URL', /^redis:\/\//) ??
    start('redis-server', (port) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ])
  )
}

/** One Memcached (64 MiB). */
export async function startMemcached(): Promise<LocalServer> {
  return (
    given('MEMCACHED_URL', /^memcached:\/\//) ??
    start('memcached', (port) => [
      ...['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', '64'],
      ...(process.getuid?.() === 0 ? ['-u', 'root'] : []), // memcached refuses root without -u
    ])
  )
}

/** A NATS server with JetStream in a temporary store directory. */
export async function startNats(): Promise<LocalServer> {
  const env = given('NATS_URL', /^nats:\/\//)
  if (env !== undefined) return env
  const store = mkdtempSync(join(tmpdir(), 'cacheplane-docs-nats-'))
  return start(
    'nats-server',
    (port) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store],
    () => rmSync(store, { recursive: true, force: true }),
  )
}
