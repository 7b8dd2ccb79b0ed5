import {
  ClosedError,
  type ItemInput,
  InvalidOptionsError,
  InvalidValueError,
  ItemCorruptError,
  storeKey,
  cacheKeyPrefix,
  decodeEnvelope,
  encodeEnvelope,
} from '@cacheplane/core'
import { randomKey } from '@cacheplane/core/testing'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { redisHandle } from '../src/index.js'
import type { RedisClient } from '../src/redis-connection.js'
import { encodeRequest } from '../src/one-buffer-command.js'
import { closeAll, standalone, topologies } from './topologies.js'

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes)
const bytes = (value: string) => new TextEncoder().encode(value)
const isVersion = (version: unknown) => Number.isSafeInteger(version) && (version as number) >= 1

function item(
  value: string,
  mode: ItemInput['mode'] = 'none',
  ttl = 0,
  version?: number,
): ItemInput<Uint8Array> {
  const now = Date.now()
  return {
    value: bytes(value),
    mode,
    ttl: mode === 'none' ? 0 : ttl,
    expiresAt: mode === 'none' ? 0 : now + ttl,
    created: now,
    ...(version === undefined ? {} : { version }),
  }
}

describe.each(topologies)('redisHandle on $name Redis', (topology) => {
  const clients: RedisClient[] = []
  const closers: Array<() => unknown> = []

  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()))
    await closeAll(clients.splice(0))
  })

  async function setup(cacheName = randomKey('cache'), prefix?: string) {
    const client = topology.connect()
    clients.push(client)
    const handle = redisHandle({ client, ...(prefix === undefined ? {} : { prefix }) })
    closers.push(() => handle.close())
    await handle.bind(cacheName)
    const keyOf = (key: string, region?: string) =>
      storeKey(cacheKeyPrefix(prefix ?? 'cacheplane:', cacheName), region, key)
    return { client, handle, keyOf, cacheName }
  }

  it('refuses a value that is not bytes with InvalidValueError and writes nothing', async () => {
    const { handle, client, keyOf } = await setup()
    const notBytes = { ...item('x'), value: 'text' as unknown as Uint8Array }
    await expect(handle.set('k', undefined, notBytes)).rejects.toThrow(InvalidValueError)
    await expect(handle.add('k', undefined, notBytes)).rejects.toThrow(InvalidValueError)
    expect(await client.exists(keyOf('k'))).toBe(0)
  })

  it('round-trips bytes and metadata, and gives every set a new version', async () => {
    const { handle } = await setup()
    const binary = new Uint8Array([0, 255, 10, 13, 0, 128])
    const v1 = await handle.set('k', undefined, { ...item('x'), value: binary })
    expect(isVersion(v1)).toBe(true)
    const first = await handle.get('k', undefined)
    expect(first?.value).toEqual(binary)
    expect(first?.mode).toBe('none')
    expect(first?.version).toBe(v1)
    const v2 = await handle.set('k', undefined, item('y', 'absolute', 60_000))
    expect(isVersion(v2) && v2 !== v1).toBe(true)
    const second = await handle.get('k', undefined)
    expect(text(second?.value)).toBe('y')
    expect(second).toMatchObject({ mode: 'absolute', ttl: 60_000, version: v2 })
    expect(await handle.set('k', undefined, item('z', 'none', 0, 41))).toBe(41)
    expect((await handle.get('k', undefined))?.version).toBe(41)
  })

  it('keeps regions and the region-less key apart', async () => {
    const { handle } = await setup()
    await handle.set('a:b', undefined, item('none'))
    await handle.set('b', 'a', item('region a'))
    await handle.set('a:b', 'a', item('region a, key a:b'))
    expect(text((await handle.get('a:b', undefined))?.value)).toBe('none')
    expect(text((await handle.get('b', 'a'))?.value)).toBe('region a')
    expect(text((await handle.get('a:b', 'a'))?.value)).toBe('region a, key a:b')
    expect(await handle.get('b', 'a:b')).toBeUndefined()
  })

  it('adds only when absent', async () => {
    const { handle } = await setup()
    expect(await handle.add('k', 'r', item('first'))).toBe(true)
    expect(await handle.add('k', 'r', item('second'))).toBe(false)
    expect(text((await handle.get('k', 'r'))?.value)).toBe('first')
    expect(isVersion((await handle.get('k', 'r'))?.version)).toBe(true)
  })

  it('updates by compare-and-set', async () => {
    const { handle } = await setup()
    expect(await handle.update('k', undefined, 1, item('x'))).toEqual({ status: 'missing' })
    const v1 = await handle.set('k', undefined, item('v1'))
    expect(await handle.update('k', undefined, v1 + 1, item('nope'))).toEqual({ status: 'conflict' })
    const outcome = await handle.update('k', undefined, v1, item('v2'))
    const v2 = outcome.status === 'ok' ? outcome.version : 0
    expect(isVersion(v2) && v2 !== v1).toBe(true)
    expect((await handle.get('k', undefined))?.version).toBe(v2)
    expect(await handle.update('k', undefined, v2, item('v3', 'none', 0, 10))).toEqual({
      status: 'ok',
      version: 10,
    })
    expect(text((await handle.get('k', undefined))?.value)).toBe('v3')
  })

  it('lets Redis expire absolute items and persists items without expiration', async () => {
    const { client, handle, keyOf } = await setup()
    await handle.set('abs', undefined, item('a', 'absolute', 30_000))
    const pttl = await client.pttl(keyOf('abs'))
    expect(pttl).toBeGreaterThan(0)
    expect(pttl).toBeLessThanOrEqual(30_000)
    await handle.set('abs', undefined, item('b'))
    expect(await client.pttl(keyOf('abs'))).toBe(-1)
    await handle.set('short', undefined, item('c', 'absolute', 50))
    await expect.poll(() => client.exists(keyOf('short')), { timeout: 5_000 }).toBe(0)
    expect(await handle.get('short', undefined)).toBeUndefined()
  })

  it('extends sliding items on get and touch', async () => {
    const { client, handle, keyOf } = await setup()
    const now = Date.now()
    // A sliding item whose window has mostly elapsed: 1 s left of 60 s.
    await handle.set('s', undefined, { ...item('s', 'sliding', 60_000), expiresAt: now + 1_000 })
    expect(await client.pttl(keyOf('s'))).toBeLessThanOrEqual(1_000)
    const read = await handle.get('s', undefined)
    expect(read?.expiresAt).toBeGreaterThanOrEqual(now + 60_000)
    expect(await client.pttl(keyOf('s'))).toBeGreaterThan(1_000)
    await handle.expire('s', undefined, 'sliding', 60_000, Date.now() + 500)
    expect(await client.pttl(keyOf('s'))).toBeLessThanOrEqual(500)
    expect(await handle.touch('s', undefined)).toBe(true)
    expect(await client.pttl(keyOf('s'))).toBeGreaterThan(1_000)
    expect(await handle.touch('missing', undefined)).toBe(false)
  })

  it('changes expiration with expire', async () => {
    const { client, handle, keyOf } = await setup()
    expect(await handle.expire('k', undefined, 'absolute', 1000, Date.now() + 1000)).toBe(false)
    await handle.set('k', undefined, item('v'))
    expect(await handle.expire('k', undefined, 'absolute', 20_000, Date.now() + 20_000)).toBe(true)
    expect(await handle.get('k', undefined)).toMatchObject({ mode: 'absolute', ttl: 20_000 })
    expect(await client.pttl(keyOf('k'))).toBeGreaterThan(0)
    expect(await handle.expire('k', undefined, 'none', 0, 0)).toBe(true)
    expect(await client.pttl(keyOf('k'))).toBe(-1)
  })

  it('removes', async () => {
    const { handle } = await setup()
    await handle.set('k', 'r', item('v'))
    expect(await handle.remove('k', 'r')).toBe(true)
    expect(await handle.remove('k', 'r')).toBe(false)
    expect(await handle.get('k', 'r')).toBeUndefined()
  })

  it('reads many keys in order', async () => {
    const { handle } = await setup()
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`)
    await Promise.all(keys.filter((_, i) => i % 3 !== 0).map((key) => handle.set(key, 'r', item(key))))
    const items = await handle.getMany(keys, 'r')
    expect(items.map((read) => text(read?.value))).toEqual(
      keys.map((key, i) => (i % 3 === 0 ? undefined : key)),
    )
  })

  it('clears only its own cache and regions, even with glob characters in names', async () => {
    const name = `${randomKey('we*ird')}[x]?\\`
    const mine = await setup(name)
    const other = await setup(`${name}-other`)
    const lookalike = await setup(name.replace('*', 'X'))
    for (const { handle } of [mine, other, lookalike]) {
      await handle.set('plain', undefined, item('p'))
      await handle.set('k1', 'eu', item('eu'))
      await handle.set('k2', 'e*', item('e*'))
    }
    await mine.handle.clearRegion('e*')
    expect(await mine.handle.get('k2', 'e*')).toBeUndefined()
    expect(text((await mine.handle.get('k1', 'eu'))?.value)).toBe('eu')
    await mine.handle.clear()
    for (const [key, region] of [
      ['plain', undefined],
      ['k1', 'eu'],
      ['k2', 'e*'],
    ] as const) {
      expect(await mine.handle.get(key, region)).toBeUndefined()
      expect(await other.handle.get(key, region)).toBeDefined()
      expect(await lookalike.handle.get(key, region)).toBeDefined()
    }
  })

  it('clears many keys across SCAN pages', async () => {
    const client = topology.connect()
    clients.push(client)
    const handle = redisHandle({ client, scanCount: 7 })
    closers.push(() => handle.close())
    await handle.bind(randomKey('big'))
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => handle.set(`k${i}`, i % 2 ? 'r' : undefined, item('v'))),
    )
    await handle.clear()
    const left = await handle.getMany(
      Array.from({ length: 300 }, (_, i) => `k${i}`),
      undefined,
    )
    expect(left.filter((read) => read !== undefined)).toEqual([])
  })

  it('turns values it did not write into ItemCorruptError, and set overwrites them', async () => {
    const { client, handle, keyOf } = await setup()
    const envelope = (patch: (bytes: Buffer) => void) => {
      const bytes = Buffer.from(encodeEnvelope({ ...item('x'), version: 1 }))
      patch(bytes)
      return bytes
    }
    await client.set(keyOf('string'), 'someone else wrote this')
    await client.set(keyOf('empty'), '')
    await client.set(keyOf('short'), envelope(() => {}).subarray(0, 20))
    await client.set(
      keyOf('mode'),
      envelope((b) => b.writeUInt8(9, 3)),
    )
    await client.set(
      keyOf('nan'),
      envelope((b) => b.writeDoubleLE(Number.NaN, 4)),
    )
    // A key of another type.
    await client.hset(keyOf('hash'), 'v', 'x', 'm', 'n', 't', '0', 'e', '0', 'c', '0', 'r', '1')
    await client.rpush(keyOf('list'), 'a')
    for (const key of ['string', 'empty', 'short', 'mode', 'nan', 'hash', 'list']) {
      await expect(handle.get(key, undefined)).rejects.toBeInstanceOf(ItemCorruptError)
    }
    for (const key of ['string', 'empty', 'short', 'hash', 'list']) {
      await expect(handle.update(key, undefined, 1, item('x'))).rejects.toBeInstanceOf(ItemCorruptError)
      await expect(handle.touch(key, undefined)).rejects.toBeInstanceOf(ItemCorruptError)
      await expect(
        handle.expire(key, undefined, 'absolute', 1_000, Date.now() + 1_000),
      ).rejects.toBeInstanceOf(ItemCorruptError)
    }
    // Nothing was changed by the refused calls.
    expect(await client.get(keyOf('string'))).toBe('someone else wrote this')
    expect(await client.type(keyOf('hash'))).toBe('hash')
    for (const key of ['string', 'hash', 'list']) {
      const version = await handle.set(key, undefined, item('fixed'))
      expect(await handle.get(key, undefined)).toMatchObject({ version })
      expect(text((await handle.get(key, undefined))?.value)).toBe('fixed')
    }
  })

  it('treats an envelope whose version is not a positive integer as corrupt, and set repairs it', async () => {
    const { client, handle, keyOf } = await setup()
    const withVersion = (version: number) => {
      const bytes = Buffer.from(encodeEnvelope({ ...item('x'), version: 1 }))
      bytes.writeDoubleLE(version, 28)
      return bytes
    }
    for (const [i, bad] of [Number.NaN, 0.5, -3, 0, 2 ** 60].entries()) {
      const key = `bad-version-${i}`
      await client.set(keyOf(key), withVersion(bad))
      await expect(handle.get(key, undefined)).rejects.toBeInstanceOf(ItemCorruptError)
      await expect(handle.update(key, undefined, 1, item('u'))).rejects.toBeInstanceOf(ItemCorruptError)
      await expect(handle.touch(key, undefined)).rejects.toBeInstanceOf(ItemCorruptError)
      const version = await handle.set(key, undefined, item('fixed'))
      const read = await handle.get(key, undefined)
      expect({ value: text(read?.value), version: read?.version }).toEqual({ value: 'fixed', version })
    }
  })

  it('stores one envelope string per item and patches its header in place', async () => {
    const { client, handle, keyOf } = await setup()
    const stored = async (key: string) => {
      const raw = await client.getBuffer(keyOf(key))
      return raw === null ? undefined : decodeEnvelope(raw)
    }
    const written = item('v1', 'absolute', 60_000)
    await handle.set('k', undefined, written)
    const v2 = await handle.set('k', undefined, item('v2', 'absolute', 60_000))
    let raw = await stored('k')
    expect(raw && { ...raw, value: text(raw.value) }).toMatchObject({
      value: 'v2',
      mode: 'absolute',
      version: v2,
    })
    const pttl = await client.pttl(keyOf('k'))
    expect(pttl).toBeGreaterThan(50_000)
    expect(pttl).toBeLessThanOrEqual(60_000)

    const outcome = await handle.update('k', undefined, v2, item('v3'))
    const v3 = outcome.status === 'ok' ? outcome.version : 0
    raw = await stored('k')
    expect(raw && { ...raw, value: text(raw.value) }).toMatchObject({
      value: 'v3',
      mode: 'none',
      version: v3,
    })
    expect(await client.pttl(keyOf('k'))).toBe(-1)

    const expiresAt = Date.now() + 30_000
    const created = raw?.created
    expect(await handle.expire('k', undefined, 'sliding', 30_000, expiresAt)).toBe(true)
    raw = await stored('k')
    // expire is a write: a new version; `created` is kept.
    expect(raw).toMatchObject({ mode: 'sliding', ttl: 30_000, expiresAt, created })
    expect(isVersion(raw?.version) && ![v2, v3].includes(raw?.version ?? 0)).toBe(true)
    expect(text(raw?.value)).toBe('v3')
    expect(await client.pttl(keyOf('k'))).toBeGreaterThan(20_000)

    expect(await handle.set('copy', undefined, item('c', 'none', 0, 41))).toBe(41)
    expect(await stored('copy')).toMatchObject({ version: 41 })
    expect(await handle.add('added', undefined, item('a'))).toBe(true)
    expect(await stored('added')).toMatchObject({ mode: 'none' })
    expect(await handle.add('added', undefined, item('b'))).toBe(false)
  })

  it('reloads its scripts after SCRIPT FLUSH (NOSCRIPT fallback)', async () => {
    const { client, handle } = await setup()
    const version = await handle.set('k', undefined, item('v'))
    const nodes = client instanceof Object && 'nodes' in client ? client.nodes('master') : [client]
    await Promise.all(nodes.map((node) => node.script('FLUSH')))
    expect(text((await handle.get('k', undefined))?.value)).toBe('v')
    expect((await handle.update('k', undefined, version, item('w'))).status).toBe('ok')
  })

  it('refuses a bind to another cache and use before bind', async () => {
    const client = topology.connect()
    clients.push(client)
    const handle = redisHandle({ client })
    await expect(handle.get('k', undefined)).rejects.toBeInstanceOf(InvalidOptionsError)
    await handle.bind('a')
    await handle.bind('a') // another manager of the same cache
    await expect(handle.bind('b')).rejects.toBeInstanceOf(InvalidOptionsError)
    await handle.close()
    expect(await client.ping()).toBe('PONG')
    await expect(handle.get('k', undefined)).rejects.toBeInstanceOf(ClosedError)
    await expect(handle.clear()).rejects.toBeInstanceOf(ClosedError)
  })

  it('closes a connection it opened itself', async () => {
    const handle = redisHandle(topology.options())
    await handle.bind(randomKey('owned'))
    await handle.set('k', undefined, item('v'))
    expect(text((await handle.get('k', undefined))?.value)).toBe('v')
    await handle.clear()
    await handle.close()
    await expect(handle.get('k', undefined)).rejects.toThrow()
  })
})

describe('redisHandle options', () => {
  it('rejects ambiguous or missing connections and bad numbers', () => {
    expect(() => redisHandle({})).toThrow(InvalidOptionsError)
    expect(() => redisHandle({ url: 'redis://127.0.0.1:1', redis: {} })).toThrow(InvalidOptionsError)
    expect(() => redisHandle({ url: 'redis://127.0.0.1:1', scanCount: 0 })).toThrow(InvalidOptionsError)
    expect(() => redisHandle({ url: 'redis://127.0.0.1:1', commandTimeoutMs: -1 })).toThrow(
      InvalidOptionsError,
    )
    expect(() => redisHandle({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 0 })).toThrow(
      InvalidOptionsError,
    )
    expect(() => redisHandle({ cluster: [] })).toThrow(InvalidOptionsError)
    expect(() => redisHandle({ url: 'redis://127.0.0.1:1', configureServer: true })).toThrow(
      InvalidOptionsError,
    )
    const client = new Redis({ lazyConnect: true })
    expect(() => redisHandle({ client, commandTimeoutMs: 100 })).toThrow(/commandTimeout/)
    expect(() => redisHandle({ client, connectTimeoutMs: 100 })).toThrow(/connectTimeout/)
    client.disconnect()
  })

  it('declares its capabilities', () => {
    const handle = redisHandle({ redis: { lazyConnect: true } })
    expect(handle.capabilities).toMatchObject({
      distributed: true,
      bytes: true,
      cas: true,
      sliding: true,
      ttlGranularityMs: 1,
      clearRegion: 'scan',
      synchronous: false,
    })
    expect(handle.name).toBe('redis')
  })
})

describe('the SET of an item', () => {
  const clients: RedisClient[] = []
  afterEach(async () => {
    await closeAll(clients.splice(0))
  })

  async function handleOn(client: RedisClient) {
    clients.push(client)
    const handle = redisHandle({ client })
    const cacheName = randomKey('cache')
    await handle.bind(cacheName)
    return {
      handle,
      keyOf: (key: string) => storeKey(cacheKeyPrefix('cacheplane:', cacheName), undefined, key),
    }
  }

  it('is one RESP request: UTF-8 string arguments, binary ones as they are', () => {
    const request = encodeRequest('set', ['k\u00e9', Buffer.from([0, 13, 10, 255]), 'PX', '1234567890'])
    const expected = Buffer.concat([
      Buffer.from('*5\r\n$3\r\nset\r\n$3\r\nk\u00e9\r\n$4\r\n', 'utf8'),
      Buffer.from([0, 13, 10, 255]),
      Buffer.from('\r\n$2\r\nPX\r\n$10\r\n1234567890\r\n', 'utf8'),
    ])
    expect(request.equals(expected)).toBe(true)
    expect(encodeRequest('ping', []).toString('latin1')).toBe('*1\r\n$4\r\nping\r\n')
  })

  it("keeps its place among an auto-pipelining client's commands: a set after a remove of the same tick lands last", async () => {
    const { handle } = await handleOn(new Redis(standalone.options().url!, { enableAutoPipelining: true }))
    await handle.set('k', undefined, item('old'))
    const removed = handle.remove('k', undefined)
    const written = handle.set('k', undefined, item('new'))
    await Promise.all([removed, written])
    expect(text((await handle.get('k', undefined))?.value)).toBe('new')
  })

  it("writes under the client's keyPrefix, where its reads look", async () => {
    const url = standalone.options().url!
    const { handle, keyOf } = await handleOn(new Redis(url, { keyPrefix: 'app:' }))
    expect(await handle.add('a', undefined, item('added'))).toBe(true)
    await handle.set('k', undefined, item('v'))
    expect(text((await handle.get('k', undefined))?.value)).toBe('v')
    expect(text((await handle.get('a', undefined))?.value)).toBe('added')
    const plain = new Redis(url)
    clients.push(plain)
    expect(await plain.exists(`app:${keyOf('k')}`, `app:${keyOf('a')}`)).toBe(2)
  })
})
