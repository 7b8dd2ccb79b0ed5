/**
 * Starts every server topology once for the whole suite (see @cacheplane/test-servers: containers
 * when an engine answers, else local binaries; REDIS_URL / MEMCACHED_URL / NATS_URL to use running
 * servers) and compiles the worker processes to plain JS. A server that cannot be provided fails
 * the run with the message test-servers gives (how to install or point at one): nothing is skipped.
 */
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { provideServers } from '@cacheplane/test-servers'
import type { TestProject } from 'vitest/node'

const root = fileURLToPath(new URL('..', import.meta.url))

/** tsc of tsconfig.worker.json; type errors are printed but do not stop the run (the JS is emitted). */
async function compileWorkers(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.worker.json'], { cwd: root })
  } catch (error) {
    const output = (error as { stdout?: string }).stdout ?? String(error)
    if (!/error TS/.test(output)) throw new Error(`integration: compiling the workers failed: ${output}`)
    console.warn(`integration: type errors while compiling the workers (JS emitted anyway):\n${output}`)
  }
}

/** Resolves when `host:port` accepts a TCP connection; rejects after 3 s. */
function reachable(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    socket.setTimeout(3_000, () => socket.destroy(new Error('no answer within 3 s')))
    socket.once('connect', () => {
      socket.end()
      resolve()
    })
    socket.once('error', reject)
  })
}

const ENV_NAMES: Record<string, string> = {
  redisUrl: 'REDIS_URL',
  memcachedServers: 'MEMCACHED_URL',
  memcachedServers2: 'MEMCACHED_URL',
  natsUrl: 'NATS_URL',
  postgresUrl: 'POSTGRES_URL',
}

/**
 * Servers given through *_URL are not probed by test-servers: check every provided address here,
 * so a wrong URL fails the run at once with what to do, instead of failing each scenario later.
 */
async function checkProvided(provided: Map<string, unknown>): Promise<void> {
  const problems: string[] = []
  for (const [name, value] of provided) {
    const addresses =
      typeof value === 'string'
        ? value.split(',')
        : (value as unknown[]).map((entry) =>
            typeof entry === 'string'
              ? entry
              : `${(entry as { host: string }).host}:${(entry as { port: number }).port}`,
          )
    for (const address of addresses) {
      const match = /^(?:[a-z]+:\/\/)?(?:[^@/]*@)?([^:/]+):(\d+)/i.exec(address.trim())
      if (match === null) continue
      try {
        await reachable(match[1] as string, Number(match[2]))
      } catch (error) {
        const env = ENV_NAMES[name]
        const hint =
          env === undefined || process.env[env] === undefined
            ? ''
            : ` (it comes from ${env}: fix or unset it)`
        problems.push(`${name} at ${address} does not answer: ${(error as Error).message}${hint}`)
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `integration: some servers cannot be reached:\n  ${problems.join('\n  ')}\n` +
        'Unset the *_URL variables to let the suite start its own servers (needs redis-server, redis-cli, ' +
        'memcached, nats-server and PostgreSQL installed, or a container engine), or point them at running servers.',
    )
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const provided = new Map<string, unknown>()
  // provideServers only calls provide(); record what it hands out to check it.
  const recording = {
    provide: (key: string, value: unknown) => {
      provided.set(key, value)
      ;(project.provide as (key: string, value: unknown) => void)(key, value)
    },
  } as unknown as TestProject
  const [teardown] = await Promise.all([
    provideServers(recording, [
      'redis',
      'redisCluster',
      'memcached',
      'memcached2',
      'nats',
      'natsCluster',
      'postgres',
    ]),
    compileWorkers(),
  ])
  try {
    await checkProvided(provided)
  } catch (error) {
    await teardown()
    throw error
  }
  return teardown
}
