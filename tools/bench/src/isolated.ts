/**
 * Each scenario of a run in a process of its own. Run one after another in one process, a
 * scenario inherited what the ones before it left: a heap grown to about 100 MB, its JIT's
 * feedback from every setup measured before (core's functions had seen a dozen setups, a
 * raw client's calls the same few), and connections still closing. The later scenarios ran
 * slower than alone (invalidation with Redis as the store: 56k-70k keys/s in two full runs
 * against 81k-99k alone, on the same machine within the hour). An application runs one setup in a process
 * of its own, which is what each scenario now gets.
 *
 * The parent starts the servers and hands them to the child in `REDIS_URL`, `MEMCACHED_URL`
 * and `NATS_URL` (borrowed servers, left running by the child); the child writes its result
 * to the file named in {@link RESULT_FILE}, and the parent writes the report. Before each
 * child the parent empties Redis and Memcached, so a scenario starts on empty stores as it
 * does alone, not on what the ones before it wrote (the `set` scenario leaves 50,000 keys).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { Client as MemjsClient } from 'memjs'
import type { ScenarioResult } from './results.js'
import type { Servers } from './servers.js'

/** A scenario's process failed; it printed why, so the parent prints this line without a stack. */
export class ScenarioProcessError extends Error {}

/** Set in a child: where it writes the result of its one scenario. */
export const RESULT_FILE = 'CACHEPLANE_BENCH_RESULT_FILE'

/** The file a child writes its result to, or undefined in the parent. */
export function resultFile(): string | undefined {
  const file = process.env[RESULT_FILE]
  return file === undefined || file === '' ? undefined : file
}

/** In a child: hands what its scenarios measured to the parent. */
export function writeResults(file: string, results: readonly ScenarioResult[]): void {
  writeFileSync(file, JSON.stringify(results))
}

/** Empties the run's Redis and Memcached (what the scenario before left). */
async function emptyStores(servers: Servers): Promise<void> {
  const redis = new Redis(await servers.redis())
  const memcached = MemjsClient.create(await servers.memcached(), { logger: { log: () => undefined } })
  try {
    await redis.flushall()
    await memcached.flush()
  } finally {
    redis.disconnect()
    memcached.close()
  }
}

/** Runs scenario `name` in a new Node.js process on the run's servers, on empty stores, and returns what it measured. */
export async function runIsolated(name: string, quick: boolean, servers: Servers): Promise<ScenarioResult[]> {
  const directory = mkdtempSync(join(tmpdir(), 'cacheplane-bench-'))
  const file = join(directory, 'result.json')
  try {
    await emptyStores(servers)
    const env = {
      ...process.env,
      REDIS_URL: await servers.redis(),
      MEMCACHED_URL: await servers.memcached(),
      NATS_URL: await servers.nats(),
      [RESULT_FILE]: file,
    }
    const main = fileURLToPath(new URL('./main.js', import.meta.url))
    const args = [...process.execArgv, main, '--only', name, ...(quick ? ['--quick'] : [])]
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'inherit', 'inherit'] })
    const exit = await new Promise<string>((resolve, reject) => {
      child.on('error', reject)
      child.on('exit', (code, signal) => resolve(signal ?? String(code)))
    })
    if (exit !== '0')
      throw new ScenarioProcessError(`bench: scenario '${name}' failed in its process (exit ${exit})`)
    return JSON.parse(readFileSync(file, 'utf8')) as ScenarioResult[]
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
}
