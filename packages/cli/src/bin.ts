#!/usr/bin/env node
import { processIo } from './cli-io.js'
import { runCli } from './run-cli.js'

// The first Ctrl-C asks the running command to stop cleanly; a second one kills (default handler).
const controller = new AbortController()
process.once('SIGINT', () => controller.abort())

const code = await runCli(process.argv.slice(2), processIo(controller.signal))
process.exitCode = code
// Every command closes what it opened; should a client library still hold a socket open,
// it must not keep the CLI from exiting.
setTimeout(() => process.exit(code), 2_000).unref()
