import { randomKey } from '@cacheplane/core/testing'
import { Utils } from 'memjs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { encodeRequest } from '../src/binary-protocol.js'
import { boundHandle, item, rawClient, text } from './helpers.js'

const closers: Array<() => unknown> = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const close of closers.splice(0).reverse()) await close()
})

describe('request encoding', () => {
  const cas = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])
  const cases = [
    { name: 'get', code: 0x00, key: 'cacheplane:users:z::k', extras: Buffer.alloc(0), value: undefined },
    {
      name: 'get of a UTF-8 key',
      code: 0x00,
      key: 'ünïcødé-キー-🔑',
      extras: Buffer.alloc(0),
      value: undefined,
    },
    {
      name: 'set with CAS',
      code: 0x01,
      key: 'k',
      extras: Buffer.from([0, 0, 0, 0, 0, 0, 0, 61]),
      value: new Uint8Array([9, 8, 7]),
      cas,
    },
    { name: 'touch', code: 0x1c, key: 'k', extras: Buffer.from([0, 0, 1, 0]), value: undefined },
    { name: 'incr', code: 0x05, key: 'cacheplane:users:gen', extras: Buffer.alloc(20, 7), value: undefined },
  ]

  for (const { name, code, key, extras, value, cas: token } of cases) {
    it(`encodes ${name} byte for byte like memjs's encoder`, () => {
      const opaque = 0xfedcba98
      const ours = encodeRequest(code, key, extras.length, value, opaque, token)
      extras.copy(ours, 24)
      const theirs = Utils.makeRequestBuffer(
        code,
        key,
        extras,
        value === undefined ? '' : Buffer.from(value),
        opaque,
      )
      if (token !== undefined) token.copy(theirs, 16)
      expect(ours.equals(theirs)).toBe(true)
    })
  }
})

describe('write coalescing', () => {
  it('sends the reads issued in one tick in one socket write and answers each with its own item', async () => {
    const client = rawClient()
    closers.push(() => client.close())
    const handle = boundHandle({ client }, randomKey('coalesce'))
    closers.push(() => handle.close())
    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`)
    for (const key of keys) await handle.set(key, undefined, item(`value of ${key}`))

    // memjs's connected socket (a private field: the one the handle corks).
    const socket = (client.servers[0] as unknown as { _socket: { _writev: (...args: unknown[]) => void } })
      ._socket
    const writev = vi.spyOn(socket, '_writev')
    const reads = keys.map((key) => handle.get(key, undefined))
    const items = await Promise.all(reads)

    expect(items.map((read) => text(read?.value))).toEqual(keys.map((key) => `value of ${key}`))
    expect(writev).toHaveBeenCalledTimes(1)
    expect(writev.mock.calls[0]?.[0]).toHaveLength(keys.length)
  })
})

describe('request opaque', () => {
  it('keeps working once memjs sequence numbers pass 2^31 (memjs wraps them negative)', async () => {
    const client = rawClient()
    closers.push(() => client.close())
    const handle = boundHandle({ client })
    closers.push(() => handle.close())
    await handle.set('k', undefined, item('v'))
    ;(client as unknown as { seq: number }).seq = 2 ** 31 - 2
    const reads: Array<string | undefined> = []
    for (let i = 0; i < 4; i++) reads.push(text((await handle.get('k', undefined))?.value))
    expect(reads).toEqual(['v', 'v', 'v', 'v'])
    expect((client as unknown as { seq: number }).seq).toBeLessThan(0)
  })
})
