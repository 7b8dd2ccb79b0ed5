// Public API of @cacheplane/cli: the `cacheplane` bin, callable in-process.

export { CliError, EXIT_CODES, UnreachableError, UsageError } from './cli-errors.js'
export { type CliIo, processIo } from './cli-io.js'
export { demoCommand } from './demo-command.js'
export { inspectCommand } from './inspect-command.js'
export { runCli } from './run-cli.js'
export { watchCommand } from './watch-command.js'
