/**
 * The compiled bin as a user runs it: exit codes of a real process, and Ctrl-C (SIGINT)
 * ending `watch` cleanly. The CLI is compiled first; its dependencies' dist/ come from
 * `turbo run test`'s `^build` (or an earlier `pnpm build`).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from '@cacheplane/test-servers'
import { beforeAll, expect, inject, it } from 'vitest'
import { waitFor } from '@cacheplane/core/testing'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

beforeAll(async () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: packageDir })
  } catch (error) {
    throw new Error(`building the CLI failed:\n${(error as { stdout?: string }).stdout ?? error}`)
  }
}, 120_000)

interface Exited {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function start(args: string[]): { child: ChildProcess; exited: Promise<Exited>; stdout: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = new Promise<Exited>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
  return { child, exited, stdout: () => stdout }
}

it('answers --help with exit code 0', async () => {
  const { code, stdout } = await start(['--help']).exited
  expect(code).toBe(0)
  expect(stdout).toContain('Usage: cacheplane <command>')
})

it('exits 64 for bad arguments and 2 for an unreachable server', async () => {
  const bad = await start(['watch', '--bogus']).exited
  expect(bad.code).toBe(64)
  expect(bad.stderr).toContain("Unknown option '--bogus'")
  const url = `redis://127.0.0.1:${await freePort()}`
  const down = await start(['inspect', '--redis', url, '--cache', 'c', 'k']).exited
  expect(down.code).toBe(2)
  expect(down.stderr).toContain(`cannot reach Redis at ${url}`)
})

it('exits 1 for a missing key', async () => {
  const { code, stderr } = await start(['inspect', '--redis', inject('redisUrl'), '--cache', 'bin-none', 'k'])
    .exited
  expect(code).toBe(1)
  expect(stderr).toContain('key "k" not found')
})

it('stops watching on Ctrl-C (SIGINT) and exits 0', async () => {
  const watch = start(['watch', '--nats', inject('natsUrl'), '--cache', 'bin-sigint'])
  await waitFor(() => watch.stdout().includes("watching 'cacheplane:bin-sigint'"), {
    timeoutMs: 10_000,
    message: 'the watching line',
  })
  watch.child.kill('SIGINT')
  const { code, stdout } = await watch.exited
  expect(code).toBe(0)
  expect(stdout).toContain('stopped: 0 frames, 0 invalid, 0 gaps')
})
