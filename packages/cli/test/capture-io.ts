import type { CliIo } from '../src/cli-io.js'

/** A CliIo that records lines, with a deadline-bounded wait for a line to appear. */
export interface CapturedIo extends CliIo {
  readonly outLines: string[]
  readonly errLines: string[]
  /** All stdout text. */
  stdout(): string
  /** All stderr text. */
  stderr(): string
  /** Resolves once a stdout line matches; rejects after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>
}

/** Captures a command's output; `signal` stops long-running commands. */
export function captureIo(signal?: AbortSignal): CapturedIo {
  const outLines: string[] = []
  const errLines: string[] = []
  return {
    signal,
    outLines,
    errLines,
    out: (line) => outLines.push(...line.split('\n')),
    err: (line) => errLines.push(...line.split('\n')),
    stdout: () => outLines.join('\n'),
    stderr: () => errLines.join('\n'),
    async waitForLine(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const line = outLines.find((candidate) => pattern.test(candidate))
        if (line !== undefined) return line
        if (Date.now() > deadline) {
          throw new Error(`no output line matched ${pattern} within ${timeoutMs} ms:\n${outLines.join('\n')}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
  }
}

/** A cache name no other test (or earlier run) uses. */
export function uniqueName(what: string): string {
  return `${what}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`
}
