/** Where a command writes, and what tells a long-running command to stop. */
export interface CliIo {
  /** Writes one line of normal output (frames, envelopes, the demo timeline). */
  out(line: string): void
  /** Writes one line of diagnostics: errors, usage hints. */
  err(line: string): void
  /** Aborted when the user asks to stop (Ctrl-C); `watch` then unsubscribes and returns. */
  readonly signal?: AbortSignal | undefined
}

/** The process's stdout/stderr, stopped by `signal`. */
export function processIo(signal?: AbortSignal): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    signal,
  }
}
