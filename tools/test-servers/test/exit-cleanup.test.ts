import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'
import { refuses } from './probe-helpers.js'

const vitestBin = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs')
const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url))

async function refusesWithin(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!(await refuses('127.0.0.1', port))) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}

it('servers a test run forgot to stop die with the test process', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cacheplane-leak-'))
  try {
    const report = join(dir, 'report.json')
    const env: NodeJS.ProcessEnv = { ...process.env, LEAK_REPORT: report }
    for (const name of ['REDIS_URL', 'MEMCACHED_URL', 'NATS_URL']) delete env[name]
    await promisify(execFile)(process.execPath, [vitestBin, 'run', '--root', fixtures], {
      env,
      timeout: 60_000,
    })
    const { ports } = JSON.parse(readFileSync(report, 'utf8')) as { ports: number[] }
    expect(ports).toHaveLength(2)
    // SIGKILL is asynchronous: give the kernel a moment (bounded) to tear the processes down.
    for (const port of ports) expect(await refusesWithin(port, 5_000)).toBe(true)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
