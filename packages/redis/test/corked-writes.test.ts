/**
 * Connections cacheplane opens write the commands of one tick in one socket write
 * (`corked-writes.ts`), and stay correct: every reply reaches its command, across ticks,
 * reconnects and Cluster nodes.
 */
import { randomKey } from '@cacheplane/core/testing'
import type { Cluster, Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { closeClient, type RedisClient, resolveConnection } from '../src/redis-connection.js'
import { standalone, topologies } from './topologies.js'

const opened: RedisClient[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((client) => closeClient(client)))
})

function open(options: Parameters<typeof resolveConnection>[1]): RedisClient {
  const { client } = resolveConnection('test', options)
  opened.push(client)
  return client
}

/** Counts the socket writes of a connected node: a corked batch leaves as one `_writev`, a lone command as one `_write`. */
function countWrites(node: Redis): { writes: number } {
  const stream = node.stream as unknown as {
    _write: (...args: unknown[]) => void
    _writev: (...args: unknown[]) => void
  }
  const counter = { writes: 0 }
  const write = stream._write.bind(stream)
  const writev = stream._writev.bind(stream)
  stream._write = (...args) => {
    counter.writes++
    write(...args)
  }
  stream._writev = (...args) => {
    counter.writes++
    writev(...args)
  }
  return counter
}

describe('corked writes', () => {
  it('sends the commands of one tick in one socket write, and each reply to its command', async () => {
    const client = open(standalone.options()) as Redis
    await client.ping()
    const counter = countWrites(client)
    const keys = Array.from({ length: 50 }, () => randomKey('cork'))
    await Promise.all(keys.map((key, i) => client.set(key, String(i))))
    expect(counter.writes).toBe(1)
    expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys.map((_, i) => String(i)))
    expect(counter.writes).toBe(2)
  })

  it('writes a lone command at once, and commands of later ticks in writes of their own', async () => {
    const client = open(standalone.options()) as Redis
    await client.ping()
    const counter = countWrites(client)
    for (let i = 0; i < 5; i++) expect(await client.echo(`tick ${i}`)).toBe(`tick ${i}`)
    expect(counter.writes).toBe(5)
  })

  it('keeps batching after a reconnect (a new socket)', async () => {
    const client = open(standalone.options()) as Redis
    await client.ping()
    const before = client.stream
    client.disconnect(true)
    await client.ping() // queued offline, sent once the new socket is ready
    expect(client.stream).not.toBe(before)
    const counter = countWrites(client)
    const keys = Array.from({ length: 20 }, () => randomKey('cork'))
    await Promise.all(keys.map((key) => client.set(key, 'v')))
    expect(counter.writes).toBe(1)
  })

  it.each(topologies)('leaves every reply with its command under concurrency ($name)', async (topology) => {
    const client = open(topology.options())
    const keys = Array.from({ length: 500 }, () => randomKey('cork'))
    await Promise.all(keys.map((key, i) => client.set(key, `value ${i}`)))
    const values = await Promise.all(keys.map((key) => client.get(key)))
    expect(values).toEqual(keys.map((_, i) => `value ${i}`))
  })

  it('corks the node connections of a Cluster', async () => {
    const client = open(topologies[1]!.options()) as Cluster
    await client.ping()
    const masters = client.nodes('master')
    expect(masters.length).toBeGreaterThan(1)
    const node = masters[0]!
    await node.ping()
    const counter = countWrites(node)
    await Promise.all(Array.from({ length: 20 }, (_, i) => node.echo(String(i))))
    expect(counter.writes).toBe(1)
  })
})
