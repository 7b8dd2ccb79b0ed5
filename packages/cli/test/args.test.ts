import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { EXIT_CODES } from '../src/cli-errors.js'
import { runCli } from '../src/run-cli.js'
import { captureIo } from './capture-io.js'

async function run(...argv: string[]) {
  const io = captureIo()
  const code = await runCli(argv, io)
  return { code, out: io.stdout(), err: io.stderr() }
}

describe('help', () => {
  it('prints the top-level usage for --help and exits 0', async () => {
    const { code, out } = await run('--help')
    expect(code).toBe(0)
    expect(out).toMatch(/Usage: cacheplane <command>/)
    for (const command of ['watch', 'inspect', 'demo']) expect(out).toContain(command)
  })

  it.each(['watch', 'inspect', 'demo'])('prints the usage of %s for --help and -h', async (command) => {
    for (const flag of ['--help', '-h']) {
      const { code, out } = await run(command, flag)
      expect(code).toBe(0)
      expect(out).toContain(`Usage: cacheplane ${command}`)
    }
  })

  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    const { code, out } = await run('--version')
    expect(code).toBe(0)
    expect(out).toBe(version)
  })
})

describe('bad arguments exit 64 with a message on stderr', () => {
  it('without a command prints the usage', async () => {
    const { code, err } = await run()
    expect(code).toBe(EXIT_CODES.usage)
    expect(err).toMatch(/Usage: cacheplane/)
  })

  it('names an unknown command', async () => {
    const { code, err } = await run('wtach')
    expect(code).toBe(EXIT_CODES.usage)
    expect(err).toContain("unknown command 'wtach'")
  })

  it.each([
    [['watch', '--redis', 'redis://127.0.0.1:1', '--cache', 'c', '--bogus'], /Unknown option '--bogus'/],
    [['watch', '--cache', 'c'], /give --redis or --nats/],
    [
      ['watch', '--redis', 'redis://h:1', '--nats', 'nats://h:1', '--cache', 'c'],
      /only one of --redis or --nats/,
    ],
    [['watch', '--redis', 'redis://h:1'], /--cache is required/],
    [
      ['watch', '--redis', 'redis://h:1', '--cache', 'c', '--count', 'two'],
      /--count must be a positive integer/,
    ],
    [
      ['watch', '--redis', 'redis://h:1', '--cache', 'c', '--timeout-ms', '0'],
      /--timeout-ms must be a positive/,
    ],
    [['watch', '--redis', '127.0.0.1:6379', '--cache', 'c'], /redis:\/\/ or rediss:\/\/ URL/],
    [['watch', '--redis', 'redis://h:1', '--cache', 'c', 'extra'], /unexpected argument: extra/],
    [['watch', '--redis', 'redis://h:1', '--cache'], /argument missing|--cache/],
    [['inspect', '--redis', 'redis://h:1', '--cache', 'c'], /give the KEY/],
    [['inspect', '--redis', 'redis://h:1', '--cache', 'c', 'k1', 'k2'], /unexpected argument: k2/],
    [['inspect', '--cache', 'c', 'k'], /give --redis or --memcached/],
    [['inspect', '--memcached', 'not a server', '--cache', 'c', 'k'], /host:port/],
    [
      ['inspect', '--redis', 'redis://h:1', '--cache', 'c', '--serializer', 'xml', 'k'],
      /--serializer must be/,
    ],
    [['demo', '--fast'], /Unknown option '--fast'/],
  ])('%j', async (argv, message) => {
    const { code, err, out } = await run(...argv)
    expect(code).toBe(EXIT_CODES.usage)
    expect(err).toMatch(message)
    expect(err).toContain(`cacheplane ${argv[0]} --help`)
    expect(out).toBe('')
  })
})
