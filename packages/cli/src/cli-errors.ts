/**
 * Exit codes, following sysexits(3) where one fits: scripts can tell a missing key from
 * a server that is down from a typo in the command line.
 */
export const EXIT_CODES = {
  /** Success. */
  ok: 0,
  /** The command ran but found nothing (a missing key) or failed on the server's answer. */
  failed: 1,
  /** A server could not be reached. */
  unreachable: 2,
  /** Bad arguments (EX_USAGE). */
  usage: 64,
} as const

/** A failure the CLI reports as one line on stderr and a specific exit code. */
export class CliError extends Error {
  /** The process exit code this failure maps to. */
  readonly exitCode: number

  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** Bad arguments: the message says which, and the command's usage is pointed to. */
export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT_CODES.usage, options)
    this.name = 'UsageError'
  }
}

/** A server did not answer in time or refused the connection. */
export class UnreachableError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT_CODES.unreachable, options)
    this.name = 'UnreachableError'
  }
}
