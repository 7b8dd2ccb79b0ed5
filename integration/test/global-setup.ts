/**
 * Starts every server topology once for the whole suite (see @cacheplane/test-servers: containers
 * when an engine answers, else local binaries; REDIS_URL / MEMCACHED_URL / NATS_URL to use running
 * servers) and compiles the worker processes to plain JS. A server that cannot be provided fails
 * the run with the message test-servers gives (how to install or point at one): nothing is skipped.
 */
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
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

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [teardown] = await Promise.all([
    provideServers(project, ['redis', 'redisCluster', 'memcached', 'memcached2', 'nats', 'natsCluster']),
    compileWorkers(),
  ])
  return teardown
}
