import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { removeDirectory, trackChild, trackDirectory, untrackChild } from './cleanup.js'
import { freePort } from './free-port.js'
import { delay, type Probe, probeOnce } from './probe.js'
import type { RunningServer } from './running-server.js'

/** How to run one server binary. */
export interface ProcessSpec {
  /** Human name used in errors, e.g. 'redis'. */
  kind: string
  /** Absolute path of the executable. */
  binary: string
  /** Command-line arguments for a server on `port` whose files live in `dir`. */
  args(port: number, dir: string): string[]
  /** Readiness probe for the process with this pid (servers without a text probe give `ready`). */
  probe?(pid: number): Probe
  /** Readiness check used instead of `probe`: true once the process `pid` serves `port`. */
  ready?(pid: number, port: number, dir: string): Promise<boolean>
  /** Runs once in the fresh directory before the first start (e.g. creating a database cluster). */
  prepare?(dir: string): Promise<void>
  /** Runs the server as this user (servers that refuse root); the directory is the caller's to chown. */
  user?: { readonly uid: number; readonly gid: number }
  /** Signal of a graceful stop (default SIGTERM). */
  stopSignal?: NodeJS.Signals
  /** Connection string for a client. */
  url(host: string, port: number): string
  /** Fixed port (clusters know their ports up front); a free port is picked otherwise. */
  port?: number
  /** Startup deadline in ms (default 20 s). */
  startTimeoutMs?: number
}

const host = '127.0.0.1'
const outputLimit = 8_000

/** Starts a local server binary on a free port in a fresh temporary directory and waits until it answers. */
export async function startProcessServer(spec: ProcessSpec): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), `cacheplane-${spec.kind}-`))
  trackDirectory(dir)
  try {
    await spec.prepare?.(dir)
  } catch (error) {
    removeDirectory(dir)
    throw error
  }
  // A port picked by freePort() can be taken by someone else before the server binds it: try a few.
  const attempts = spec.port === undefined ? 3 : 1
  let lastError: unknown
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = spec.port ?? (await freePort())
    try {
      const child = await launch(spec, port, dir)
      return processServer(spec, port, dir, child)
    } catch (error) {
      lastError = error
    }
  }
  removeDirectory(dir)
  throw lastError
}

function processServer(spec: ProcessSpec, port: number, dir: string, first: ChildProcess): RunningServer {
  let child: ChildProcess | undefined = first
  let stopped = false
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    if (child === undefined) return
    await terminate(child, signal)
    untrackChild(child)
    child = undefined
  }
  return {
    host,
    port,
    url: spec.url(host, port),
    async stop() {
      if (stopped) return
      stopped = true
      await halt(spec.stopSignal ?? 'SIGTERM')
      removeDirectory(dir)
    },
    async restart() {
      if (stopped) throw new Error(`test-servers: ${spec.kind} on port ${port} was stopped; start a new one`)
      await halt(spec.stopSignal ?? 'SIGTERM')
      child = await launch(spec, port, dir)
    },
    async kill() {
      await halt('SIGKILL')
    },
  }
}

async function launch(spec: ProcessSpec, port: number, dir: string): Promise<ChildProcess> {
  const args = spec.args(port, dir)
  const child = spawn(spec.binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...spec.user })
  trackChild(child)
  let output = ''
  let spawnError: Error | undefined
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-outputLimit)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  child.once('error', (error) => {
    spawnError = error
  })
  // The child must not keep a finished test process alive; the exit hook kills it.
  child.unref()
  const deadline = Date.now() + (spec.startTimeoutMs ?? 20_000)
  for (;;) {
    const exited = child.exitCode !== null || child.signalCode !== null || spawnError !== undefined
    if (!exited && child.pid !== undefined && (await isReady(spec, child.pid, port, dir))) {
      ;(child.stdout as { unref?: () => void } | null)?.unref?.()
      ;(child.stderr as { unref?: () => void } | null)?.unref?.()
      return child
    }
    if (exited || Date.now() > deadline) {
      if (!exited) await terminate(child, 'SIGKILL')
      untrackChild(child)
      const why =
        spawnError?.message ??
        (exited ? `exited with ${child.exitCode ?? child.signalCode}` : 'did not answer in time')
      throw new Error(
        `test-servers: ${spec.kind} (${spec.binary} ${args.join(' ')}) ${why}.\n--- server output ---\n${output}`,
      )
    }
    await delay(50)
  }
}

function isReady(spec: ProcessSpec, pid: number, port: number, dir: string): Promise<boolean> {
  if (spec.ready !== undefined) return spec.ready(pid, port, dir)
  if (spec.probe === undefined) throw new Error(`test-servers: ${spec.kind} has neither probe nor ready`)
  return probeOnce(host, port, spec.probe(pid))
}

/** Sends `signal` and waits for the exit, escalating to SIGKILL after 5 s. */
async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill(signal)
  const escalate = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(escalate)
}
