import { CacheManager, encodeFrame } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { natsBackplane } from '@cacheplane/nats'
import { redisBackplane } from '@cacheplane/redis'
import { freePort } from '@cacheplane/test-servers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { EXIT_CODES } from '../src/cli-errors.js'
import { runCli } from '../src/run-cli.js'
import { captureIo, uniqueName } from './capture-io.js'

const SENDER = /[0-9a-f]{32}/

/** Starts `cacheplane watch`, waits until it is subscribed, and hands back its result and output. */
async function startWatch(args: string[], signal?: AbortSignal) {
  const io = captureIo(signal)
  // A bound on every run: a frame that never arrives fails the test's assertions, not its timeout.
  const bounded = args.includes('--timeout-ms') ? args : [...args, '--timeout-ms', '15000']
  const result = runCli(['watch', ...bounded], io)
  // A failure before subscribing ends the command: surface it instead of waiting for the line.
  await Promise.race([
    io.waitForLine(/^watching '/),
    result.then((code) => {
      throw new Error(`watch exited with ${code} before subscribing: ${io.stderr()}`)
    }),
  ])
  return { io, result }
}

describe('over Redis', () => {
  const url = inject('redisUrl')
  let publisher: Redis

  beforeAll(() => {
    publisher = new Redis(url)
  })
  afterAll(async () => {
    await publisher.quit()
  })

  it('prints the frames a CacheManager publishes', async () => {
    const name = uniqueName('watch-redis')
    const cache = new CacheManager<number>({
      name,
      handles: [memoryHandle()],
      backplane: redisBackplane({ url }),
    })
    try {
      await cache.ready()
      const { io, result } = await startWatch(['--redis', url, '--cache', name, '--count', '3'])
      await cache.set('k1', 1, { region: 'eu' })
      await io.waitForLine(/changed:set/)
      await cache.remove('k1', { region: 'eu' })
      await io.waitForLine(/removed/)
      await cache.clearRegion('eu')
      expect(await result).toBe(0)
      const frames = io.outLines.filter((line) => SENDER.test(line))
      expect(frames).toHaveLength(3)
      expect(frames[0]).toMatch(
        /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}[0-9a-f]{32} {2}changed:set region="eu" key="k1"$/,
      )
      expect(frames[1]).toMatch(/removed region="eu" key="k1"$/)
      expect(frames[2]).toMatch(/regionCleared region="eu"$/)
      expect(io.stdout()).toContain('stopped: 3 frames, 0 invalid, 0 gaps')
    } finally {
      await cache.close()
    }
  })

  it('flags garbage and wrongly signed frames, and marks verified ones', async () => {
    const name = uniqueName('watch-secret')
    const channel = `cacheplane:${name}`
    const senderId = 'ab'.repeat(16)
    const message = { type: 'removed', key: 'k', region: undefined } as const
    const { io, result } = await startWatch([
      '--redis',
      url,
      '--cache',
      name,
      '--secret',
      's3cret',
      '--count',
      '4',
    ])
    await publisher.publish(channel, Buffer.from('garbage, not a cacheplane frame'))
    await publisher.publish(
      channel,
      Buffer.from(encodeFrame({ senderId, messages: [message] }, { secret: 'wrong' })),
    )
    await publisher.publish(channel, Buffer.from(encodeFrame({ senderId, messages: [message] })))
    await publisher.publish(
      channel,
      Buffer.from(encodeFrame({ senderId, messages: [message] }, { secret: 's3cret' })),
    )
    expect(await result).toBe(0)
    const lines = io.outLines.filter((line) => /Z {2}/.test(line))
    expect(lines, lines.join('\n')).toHaveLength(4)
    expect(lines[0]).toMatch(/!! E_FRAME_INVALID not a cacheplane frame \(bad magic\) \(31 bytes\)$/)
    expect(lines[1]).toMatch(
      /!! E_FRAME_SIGNATURE frame signature is wrong \(\d+ bytes claimed sender (ab){16}\)$/,
    )
    expect(lines[2]).toMatch(/!! E_FRAME_SIGNATURE frame is not signed but a secret is configured/)
    expect(lines[3]).toMatch(/(ab){16} {2}removed key="k" {2}\[verified\]$/)
    expect(io.stdout()).toContain('stopped: 1 frame, 3 invalid, 0 gaps')
  })

  it('escapes control characters in keys so a frame cannot drive the terminal', async () => {
    const name = uniqueName('watch-escape')
    const { io, result } = await startWatch(['--redis', url, '--cache', name, '--count', '1'])
    const key = 'evil\u001b[2J\u009b31m\u202ekey'
    const frame = encodeFrame({
      senderId: 'cd'.repeat(16),
      messages: [{ type: 'removed', key, region: undefined }],
    })
    await publisher.publish(`cacheplane:${name}`, Buffer.from(frame))
    expect(await result).toBe(0)
    const line = await io.waitForLine(/removed/)
    expect(line).toContain('key="evil\\u001b[2J\\u009b31m\\u202ekey"')
    for (const raw of ['\u001b', '\u009b', '\u202e']) expect(line).not.toContain(raw)
  })

  it('uses --prefix for the channel and stops cleanly when aborted (Ctrl-C)', async () => {
    const name = uniqueName('watch-abort')
    const controller = new AbortController()
    const { io, result } = await startWatch(
      ['--redis', url, '--cache', name, '--prefix', 'app1/'],
      controller.signal,
    )
    expect(io.stdout()).toContain(`watching 'app1/${name}'`)
    await publisher.publish(
      `app1/${name}`,
      Buffer.from(encodeFrame({ senderId: 'ef'.repeat(16), messages: [{ type: 'cleared' }] })),
    )
    await io.waitForLine(/cleared \(whole cache\)/)
    controller.abort()
    expect(await result).toBe(0)
    expect(io.stdout()).toContain('stopped: 1 frame, 0 invalid, 0 gaps')
  })

  it('prints the gap when its subscription is dropped, and keeps watching after resubscribing', async () => {
    const name = uniqueName('watch-gap')
    const { io, result } = await startWatch(['--redis', url, '--cache', name, '--count', '1'])
    await publisher.client('KILL', 'TYPE', 'pubsub')
    await io.waitForLine(/-- gap \(reconnect, frames may have been missed\)/)
    expect(io.stdout()).toMatch(/-- backplane disconnected/)
    const frame = encodeFrame({ senderId: '12'.repeat(16), messages: [{ type: 'cleared' }] })
    await publisher.publish(`cacheplane:${name}`, Buffer.from(frame))
    expect(await result).toBe(0)
    expect(io.stdout()).toMatch(/(12){16} {2}cleared \(whole cache\)/)
    expect(io.stdout()).toContain('stopped: 1 frame, 0 invalid, 1 gap')
  })

  it('stops after --timeout-ms', async () => {
    const { io, result } = await startWatch([
      '--redis',
      url,
      '--cache',
      uniqueName('watch-timeout'),
      '--timeout-ms',
      '50',
    ])
    expect(await result).toBe(0)
    expect(io.stdout()).toContain('stopped: 0 frames')
  })

  it('exits 2 naming the URL when Redis is unreachable', async () => {
    const deadUrl = `redis://127.0.0.1:${await freePort()}`
    const io = captureIo()
    const code = await runCli(
      ['watch', '--redis', deadUrl, '--cache', 'c', '--connect-timeout-ms', '500'],
      io,
    )
    expect(code).toBe(EXIT_CODES.unreachable)
    expect(io.stderr()).toContain(`cacheplane watch: cannot reach Redis at ${deadUrl}`)
  })
})

describe('over NATS', () => {
  const url = inject('natsUrl')

  it('prints the frames a CacheManager publishes', async () => {
    const name = uniqueName('watch-nats')
    const cache = new CacheManager<string>({
      name,
      handles: [memoryHandle()],
      backplane: natsBackplane({ servers: url }),
    })
    try {
      await cache.ready()
      const { io, result } = await startWatch(['--nats', url, '--cache', name, '--count', '2'])
      await cache.set('a key', 'v')
      await io.waitForLine(/changed:set/)
      await cache.clear()
      expect(await result).toBe(0)
      const frames = io.outLines.filter((line) => SENDER.test(line))
      expect(frames).toHaveLength(2)
      expect(frames[0]).toMatch(/ {2}changed:set key="a key"$/)
      expect(frames[1]).toMatch(/ {2}cleared \(whole cache\)$/)
    } finally {
      await cache.close()
    }
  })

  it("follows the application's --subject-prefix", async () => {
    const name = uniqueName('watch-subject')
    const cache = new CacheManager<string>({
      name,
      handles: [memoryHandle()],
      backplane: natsBackplane({ servers: url, prefix: 'app1.' }),
    })
    try {
      await cache.ready()
      const { io, result } = await startWatch([
        '--nats',
        url,
        '--cache',
        name,
        '--subject-prefix',
        'app1.',
        '--count',
        '1',
      ])
      await cache.remove('gone', { region: 'r' })
      expect(await result).toBe(0)
      expect(io.stdout()).toMatch(/ {2}removed region="r" key="gone"$/m)
    } finally {
      await cache.close()
    }
  })

  it('exits 2 naming the URL when NATS is unreachable', async () => {
    const deadUrl = `nats://127.0.0.1:${await freePort()}`
    const io = captureIo()
    const code = await runCli(['watch', '--nats', deadUrl, '--cache', 'c', '--connect-timeout-ms', '500'], io)
    expect(code).toBe(EXIT_CODES.unreachable)
    expect(io.stderr()).toContain(`cacheplane watch: cannot reach NATS at ${deadUrl}`)
  })
})
