/**
 * The command dispatcher. Commands are functions of (args, io) returning an exit code,
 * so tests run them in-process; every failure becomes one line on stderr and an exit
 * code (see EXIT_CODES), never a stack trace.
 */
import { readFileSync } from 'node:fs'
import { CacheplaneError } from '@cacheplane/core'
import { CliError, EXIT_CODES } from './cli-errors.js'
import type { CliIo } from './cli-io.js'
import { demoCommand } from './demo-command.js'
import { inspectCommand } from './inspect-command.js'
import { watchCommand } from './watch-command.js'

/** `cacheplane --help`. */
export const USAGE = `Usage: cacheplane <command> [options]

Commands:
  watch     print every frame on a cache's backplane channel (Redis or NATS) live
  inspect   show the stored envelope of one key (Redis or Memcached)
  demo      three instances sharing a cache in this process, with a timeline

Run 'cacheplane <command> --help' for a command's options.
Options: -h, --help  show this help;  -v, --version  print the version`

type Command = (args: readonly string[], io: CliIo) => Promise<number>

const COMMANDS: Readonly<Record<string, Command>> = {
  watch: watchCommand,
  inspect: inspectCommand,
  demo: demoCommand,
}

// Typed errors core and the adapters throw for bad input a user typed (a bad prefix, key or name).
const USAGE_CODES = new Set(['E_INVALID_OPTIONS', 'E_INVALID_KEY'])

function version(): string {
  // ../package.json from both src/ and dist/.
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  return String(manifest.version)
}

/** Runs the CLI with `argv` (without node and the script); resolves with the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined) {
    io.err(USAGE)
    return EXIT_CODES.usage
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    io.out(USAGE)
    return EXIT_CODES.ok
  }
  if (name === '-v' || name === '--version') {
    io.out(version())
    return EXIT_CODES.ok
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
  if (command === undefined) {
    io.err(`cacheplane: unknown command '${name}'\n\n${USAGE}`)
    return EXIT_CODES.usage
  }
  try {
    return await command(args, io)
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`cacheplane ${name}: ${error.message}`)
      if (error.exitCode === EXIT_CODES.usage) io.err(`Run 'cacheplane ${name} --help' for usage.`)
      return error.exitCode
    }
    if (error instanceof CacheplaneError && USAGE_CODES.has(error.code)) {
      io.err(`cacheplane ${name}: ${error.message}`)
      return EXIT_CODES.usage
    }
    io.err(`cacheplane ${name}: ${error instanceof Error ? error.message : String(error)}`)
    return EXIT_CODES.failed
  }
}
