/**
 * A second OS process for the cross-process scenarios: `dist/worker.js` forked with an
 * IPC channel. Messages are plain objects with a `type`; every wait has a deadline.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** A message between the runner and a worker. */
export interface WorkerMessage {
  readonly type: string
  readonly [field: string]: unknown
}

/** A running worker process. */
export class WorkerProcess {
  readonly #child: ChildProcess
  readonly #inbox: WorkerMessage[] = []
  #waiter: (() => void) | undefined
  #exited: string | undefined

  constructor(role: string, config: unknown, execArgv: readonly string[] = []) {
    const script = fileURLToPath(new URL('./worker.js', import.meta.url))
    this.#child = fork(script, [role, JSON.stringify(config)], {
      // The parent's own flags (`node --cpu-prof dist/main.js` profiles every worker too).
      execArgv: [...process.execArgv, ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.#child.on('message', (message) => {
      this.#inbox.push(message as WorkerMessage)
      this.#waiter?.()
    })
    this.#child.once('exit', (code, signal) => {
      this.#exited = `worker '${role}' exited (code ${code}, signal ${signal})`
      this.#waiter?.()
    })
  }

  /** Sends a message to the worker. */
  send(message: WorkerMessage): void {
    this.#child.send(message)
  }

  /** The next message of `type` (earlier messages of other types are dropped); rejects after `timeoutMs`. */
  async next(type: string, timeoutMs: number): Promise<WorkerMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      while (this.#inbox.length > 0) {
        const message = this.#inbox.shift() as WorkerMessage
        if (message.type === 'error') throw new Error(`worker failed: ${String(message.message)}`)
        if (message.type === type) return message
      }
      if (this.#exited !== undefined) throw new Error(this.#exited)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no '${type}' message from the worker within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#waiter = undefined
    }
  }

  /** Asks the worker to exit and waits (kills it after 5 s). */
  async stop(): Promise<void> {
    if (this.#exited !== undefined) return
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.send({ type: 'exit' })
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
}
