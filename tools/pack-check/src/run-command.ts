import { spawn } from 'node:child_process'

/** What a finished command printed. */
export interface CommandOutput {
  readonly stdout: string
  readonly stderr: string
}

/** A command that failed, with everything it printed (the report shows it). */
export class CommandFailedError extends Error {
  constructor(
    message: string,
    readonly output: CommandOutput,
  ) {
    super(message)
    this.name = 'CommandFailedError'
  }
}

/**
 * Runs a command to completion and resolves with its output; rejects with
 * CommandFailedError on a non-zero exit, a signal or `timeoutMs` (the command is killed).
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<CommandOutput> {
  const line = [command, ...args].join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, options.timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(new CommandFailedError(`${line}: ${error.message}`, { stdout, stderr }))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) return resolve({ stdout, stderr })
      const why = timedOut
        ? `did not finish within ${options.timeoutMs} ms`
        : signal !== null
          ? `was killed by ${signal}`
          : `exited with ${code}`
      reject(new CommandFailedError(`${line} ${why} (in ${options.cwd})`, { stdout, stderr }))
    })
  })
}
