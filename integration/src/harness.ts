/**
 * Test-side harness: spawns worker processes (compiled by the global setup), sends them commands
 * over IPC and keeps the events they forward, so tests can wait for them with a deadline.
 * Every worker spawned through a {@link WorkerPool} is SIGKILLed after each test, pass or fail.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'
import type { Command, LoadResult, Value, WorkerEvent, WorkerMessage } from './worker/protocol.js'
import type { ManagerSpec } from './worker/topology.js'
import type { ReAddRecord, UpdateRecord } from './worker/update-race.js'

/** The compiled worker entry (see test/global-setup.ts). */
export const workerEntry = fileURLToPath(new URL('../dist/integration/src/worker/main.js', import.meta.url))

/** Result types of the commands that return something. */
export interface Results {
  get: {
    value: Value
    level: number
    mode: string
    expiresAt: number
    startedAt: number
    stale?: boolean
  } | null
  set: number
  add: boolean
  remove: boolean
  expire: boolean
  bump: Value
  bumpLoop: Value
  setLoop: number
  getOrAdd: Value
  heldUpdate: Value
  release: boolean
  slowUpdateLoop: UpdateRecord[]
  reAddLoop: ReAddRecord[]
  load: LoadResult
  factoryCalls: number
}

type ResultOf<C extends Command> = C['op'] extends keyof Results ? Results[C['op']] : unknown

interface Pending {
  resolve(value: unknown): void
  reject(error: Error): void
}

/** A failed command: the worker's error name and message. */
export class WorkerCommandError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message)
    this.name = 'WorkerCommandError'
  }
}

/** One worker process. */
export class Worker {
  /** Every event the worker forwarded, in order. */
  readonly events: WorkerEvent[] = []
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private exitInfo: string | undefined
  /** The end of the worker's stderr, quoted when it dies unexpectedly. */
  private stderrTail = ''

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (message: WorkerMessage) => this.onMessage(message))
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk)
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2_000)
    })
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const stderr = this.stderrTail === '' ? '' : `; stderr: ${this.stderrTail}`
        this.exitInfo = `exited (code ${code}, signal ${signal})${signal === 'SIGKILL' ? '' : stderr}`
        for (const pending of this.pending.values()) {
          pending.reject(new Error(`worker ${name} ${this.exitInfo} before replying`))
        }
        this.pending.clear()
        resolve({ code, signal })
      })
    })
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.child.pid
  }

  /** True until the process exits. */
  get alive(): boolean {
    return this.exitInfo === undefined
  }

  /** Sends a command and resolves with its result; rejects with the worker's error. */
  call<C extends Command>(command: C, timeoutMs = 30_000): Promise<ResultOf<C>> {
    if (this.exitInfo !== undefined) return Promise.reject(new Error(`worker ${this.name} ${this.exitInfo}`))
    const id = this.nextId++
    // Created here so a timeout's stack points at the test line that sent the command.
    const timeout = new Error(
      `worker ${this.name}: ${JSON.stringify(command)} got no reply within ${timeoutMs} ms`,
    )
    return new Promise<ResultOf<C>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(timeout)
      }, timeoutMs)
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer)
          resolve(value as ResultOf<C>)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      this.child.send({ ...command, id })
    })
  }

  /** Events matching `predicate` so far. */
  find(predicate: (event: WorkerEvent) => boolean): WorkerEvent[] {
    return this.events.filter(predicate)
  }

  /** Waits until an event matching `predicate` arrived (after index `from`), with a deadline. */
  async waitEvent(
    predicate: (event: WorkerEvent) => boolean,
    options: { from?: number; timeoutMs?: number; what?: string } = {},
  ): Promise<WorkerEvent> {
    const { from = 0, timeoutMs = 10_000, what = predicate.toString() } = options
    const deadline = Date.now() + timeoutMs
    for (;;) {
      for (let i = from; i < this.events.length; i++) {
        const event = this.events[i] as WorkerEvent
        if (predicate(event)) return event
      }
      if (!this.alive) throw new Error(`worker ${this.name} ${this.exitInfo} while waiting for ${what}`)
      if (Date.now() >= deadline) {
        const seen = this.events.slice(from, from + 20).map((e) => JSON.stringify(e))
        throw new Error(`worker ${this.name}: no event ${what} within ${timeoutMs} ms; saw ${seen.join(' ')}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL')
    await this.exited
  }

  private onMessage(message: WorkerMessage): void {
    if (message.type === 'event') {
      this.events.push(message)
      return
    }
    const pending = this.pending.get(message.id)
    if (pending === undefined) return
    this.pending.delete(message.id)
    if (message.ok) pending.resolve(message.result)
    else pending.reject(new WorkerCommandError(message.error.name, message.error.message))
  }
}

/**
 * The test process's Node flags without vitest's `--conditions`: a fork inherits them, and with
 * `import` among them a CommonJS require of a dual package gets its ES module (pg's pg-pool then
 * fails to load). Workers resolve like a plain Node process, as an application would.
 */
function workerExecArgv(): string[] {
  const flags: string[] = []
  for (let i = 0; i < process.execArgv.length; i++) {
    const flag = process.execArgv[i] as string
    if (flag === '--conditions' || flag === '-C') i++
    else if (!flag.startsWith('--conditions=')) flags.push(flag)
  }
  return flags
}

/** Spawns workers and kills them after each test of the file that created it. */
export class WorkerPool {
  private readonly workers = new Set<Worker>()

  constructor() {
    afterEach(async () => {
      const all = [...this.workers]
      this.workers.clear()
      await Promise.all(all.map((worker) => worker.kill()))
    })
  }

  /**
   * Starts one worker and builds its manager from `spec`; resolves once the manager is ready,
   * or with `waitReady: false` as soon as it is built (its backplane subscription pending).
   */
  async spawn(spec: ManagerSpec, options: { waitReady?: boolean } = {}): Promise<Worker> {
    if (!existsSync(workerEntry)) {
      throw new Error(
        `integration: ${workerEntry} is missing; the global setup compiles it (test/global-setup.ts)`,
      )
    }
    const child = fork(workerEntry, [], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      execArgv: workerExecArgv(),
    })
    const worker = new Worker(spec.workerId, child)
    this.workers.add(worker)
    await worker.call({ op: 'init', spec, waitReady: options.waitReady ?? true }, 60_000)
    return worker
  }

  /** Starts `count` workers on one spec (ids `<prefix>0..n-1`) in parallel. */
  spawnMany(count: number, spec: Omit<ManagerSpec, 'workerId'>, prefix = 'w'): Promise<Worker[]> {
    return Promise.all(
      Array.from({ length: count }, (_, i) => this.spawn({ ...spec, workerId: `${prefix}${i}` })),
    )
  }
}
