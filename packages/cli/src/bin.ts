#!/usr/bin/env node
import { processIo } from './cli-io.js'
import { runCli } from './run-cli.js'

// The first Ctrl-C asks the running command to stop cleanly; a second one kills (default handler).
const controller = new AbortController()
process.once('SIGINT', () => controller.abort())

const code = await runCli(process.argv.slice(2), processIo(controller.signal))

// Commands close what they open, but client libraries may keep timers after a close (ioredis
// keeps a 2 s socket-destroy timer after a disconnect). The command is done: exit once the
// output is flushed rather than wait for them.
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()))
}
await Promise.all([flushed(process.stdout), flushed(process.stderr)])
process.exit(code)
