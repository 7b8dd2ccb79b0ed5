/**
 * Connections cacheplane opens fail a command that waits longer than `commandTimeoutMs`
 * (`command-deadline.ts`): sent and unanswered, or never sent, standalone and Cluster, with
 * one timer per connection and none per command.
 */
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { freePort, startTcpProxy } from '@cacheplane/test-servers'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { subscriberTimeout } from '../src/command-deadline.js'
import { closeClient, type RedisClient, resolveConnection } from '../src/redis-connection.js'
import { mastersOf, standalone, topologies } from './topologies.js'

const TIMEOUT_MS = 300

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

type Options = Parameters<typeof resolveConnection>[1]

/** A connection of the test's own (not shared with another test's, from the same `url`). */
function ownConnection(options: Options): RedisClient {
  return resolveConnection(
    'test',
    options.url === undefined ? options : { shareConnection: false, ...options },
  ).client
}

function open(options: Options): RedisClient {
  const client = ownConnection(options)
  cleanups.push(() => closeClient(client))
  return client
}

/** How long `command` took to fail, and with what. */
async function failure(command: Promise<unknown>): Promise<{ ms: number; error: Error }> {
  const start = performance.now()
  const error = await command.then(
    () => new Error('the command succeeded'),
    (e: Error) => e,
  )
  return { ms: performance.now() - start, error }
}

/** Every master stops answering for `ms` (CLIENT PAUSE): a server that hangs, the socket open. */
async function pauseMasters(client: RedisClient, ms: number): Promise<void> {
  for (const master of await mastersOf(client)) {
    const admin = new Redis({ host: master.options.host, port: master.options.port })
    cleanups.push(() => admin.disconnect())
    await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL')
  }
}

describe.each(topologies)('the command timeout of a connection we open ($name)', (topology) => {
  it('fails a command the server does not answer, no earlier than the timeout; later replies reach their own commands', async () => {
    const client = open({ ...topology.options(), commandTimeoutMs: TIMEOUT_MS })
    const key = randomKey('deadline')
    await client.set(key, 'value')
    await pauseMasters(client, 1_500)
    const { ms, error } = await failure(client.get(key))
    expect(error.message).toBe('Command timed out')
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1)
    expect(ms).toBeLessThan(1_500)
    // Once the server answers again, the late reply goes to the failed command, not the next.
    const other = randomKey('deadline')
    await waitFor(async () => (await client.set(other, 'other')) === 'OK', {
      message: 'Redis answering again',
    })
    expect(await client.get(other)).toBe('other')
    expect(await client.get(key)).toBe('value')
  })

  it("gives the connections opened beside it (subscribers) the same timeout, as ioredis' own", async () => {
    const client = open({ ...topology.options(), commandTimeoutMs: TIMEOUT_MS })
    expect(subscriberTimeout(client)).toEqual({ commandTimeout: TIMEOUT_MS })
    for (const node of await mastersOf(client))
      expect(subscriberTimeout(node)).toEqual({ commandTimeout: TIMEOUT_MS })
    const given = topology.connect()
    cleanups.push(() => given.disconnect())
    expect(subscriberTimeout(given)).toEqual({})
  })

  it('stops its timers when the connection is closed', async () => {
    const armed = vi.spyOn(globalThis, 'setInterval')
    const cleared = vi.spyOn(globalThis, 'clearInterval')
    const client = ownConnection(topology.options())
    await client.ping()
    const timers = armed.mock.results.map((result) => result.value)
    // One per connection: the client, and for a Cluster its own queue and each node.
    expect(timers.length).toBeGreaterThanOrEqual(topology.name === 'cluster' ? 4 : 1)
    const clearedAll = () => timers.every((timer) => cleared.mock.calls.some(([c]) => c === timer))
    expect(clearedAll()).toBe(false)
    await closeClient(client)
    await waitFor(clearedAll, { message: 'the connection clears every timer it armed' })
  })

  it('arms no timer per command', async () => {
    const client = open({ ...topology.options(), commandTimeoutMs: TIMEOUT_MS })
    await client.ping()
    const keys = Array.from({ length: 200 }, () => randomKey('deadline'))
    await Promise.all(keys.map((key) => client.set(key, key)))
    const timers = vi.spyOn(globalThis, 'setTimeout')
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys)
    expect(timers.mock.calls.length).toBeLessThan(10)
  })
})

describe('the command timeout of a standalone connection we open', () => {
  it('fails a command that was never sent (the connection does not come up)', async () => {
    const url = new URL(standalone.options().url ?? '')
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) })
    cleanups.push(() => proxy.close())
    proxy.blackhole()
    const client = open({
      url: `redis://127.0.0.1:${proxy.port}`,
      commandTimeoutMs: TIMEOUT_MS,
      connectTimeoutMs: 10_000,
    })
    const { ms, error } = await failure(client.get(randomKey('deadline')))
    expect(error.message).toBe('Command timed out')
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1)
    expect(ms).toBeLessThan(5_000)
  })

  it("leaves ioredis' own commandTimeout to ioredis when the options give one", async () => {
    const url = new URL(standalone.options().url ?? '')
    const client = open({
      redis: { host: url.hostname, port: Number(url.port), commandTimeout: TIMEOUT_MS },
    }) as Redis
    expect(client.options.commandTimeout).toBe(TIMEOUT_MS)
    const key = randomKey('deadline')
    await client.set(key, 'v')
    // The pause outlasts this timeout, not the default 2,000 ms of `commandTimeoutMs`.
    await pauseMasters(client, 1_500)
    const { ms, error } = await failure(client.get(key))
    expect(error.message).toBe('Command timed out')
    expect(ms).toBeLessThan(1_500)
  })
})

describe('the command timeout of a Cluster we open', () => {
  it('fails a command that waits for the Cluster to know its nodes (no startup node answers)', async () => {
    const port = await freePort()
    const client = open({ cluster: [{ host: '127.0.0.1', port }], commandTimeoutMs: TIMEOUT_MS })
    const { ms, error } = await failure(client.get(randomKey('deadline')))
    expect(error.message).toBe('Command timed out')
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 1)
    expect(ms).toBeLessThan(5_000)
  })
})
