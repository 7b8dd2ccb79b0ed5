import { CacheManager, cacheKeyPrefix, storeKey, v8Serializer } from '@cacheplane/core'
import { memcachedHandle } from '@cacheplane/memcached'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { freePort } from '@cacheplane/test-servers'
import { Redis } from 'ioredis'
import { waitFor } from '@cacheplane/core/testing'
import { describe, expect, inject, it } from 'vitest'
import { EXIT_CODES } from '../src/cli-errors.js'
import { runCli } from '../src/run-cli.js'
import { captureIo, uniqueName } from './capture-io.js'

async function inspect(...argv: string[]) {
  const io = captureIo()
  const code = await runCli(['inspect', ...argv], io)
  return { code, out: io.stdout(), err: io.stderr() }
}

describe('Redis', () => {
  const url = inject('redisUrl')

  it('shows the envelope and a JSON value preview of an item a CacheManager wrote', async () => {
    const name = uniqueName('inspect-redis')
    const cache = new CacheManager<object>({ name, handles: [memoryHandle(), redisHandle({ url })] })
    try {
      const before = Date.now()
      await cache.set(
        'p:1',
        { name: 'lamp', price: 10 },
        { region: 'eu', expiration: { mode: 'absolute', ttl: 60_000 } },
      )
      await cache.set(
        'p:1',
        { name: 'lamp', price: 8 },
        { region: 'eu', expiration: { mode: 'absolute', ttl: 60_000 } },
      )
      const { code, out, err } = await inspect('--redis', url, '--cache', name, '--region', 'eu', 'p:1')
      expect(err).toBe('')
      expect(code).toBe(0)
      expect(out).toContain(`key "p:1" in region "eu" of cache "${name}" on Redis ${url}`)
      expect(out).toMatch(/^mode {7}absolute$/m)
      expect(out).toMatch(/^ttl {8}60000 ms$/m)
      const { version } = (await cache.getItem('p:1', { region: 'eu' }))!
      expect(out).toMatch(new RegExp(`^version {4}${version}$`, 'm'))
      expect(out).toMatch(/^size {7}\d+ bytes \(serialized value, format json\)$/m)
      expect(out).toMatch(/^value {6}\{ name: 'lamp', price: 8 \}$/m)
      const expiresAt = Date.parse(/^expiresAt {2}(\S+)/m.exec(out)![1]!)
      expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000)
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 60_000)
    } finally {
      await cache.close()
    }
  })

  it('shows a tagged value and its tags, not the tag header', async () => {
    const name = uniqueName('inspect-tags')
    const cache = new CacheManager<object>({ name, handles: [memoryHandle(), redisHandle({ url })] })
    try {
      await cache.set('p:2', { name: 'desk' }, { tags: ['furniture', 'sale "50%"'] })
      const { code, out, err } = await inspect('--redis', url, '--cache', name, 'p:2')
      expect(err).toBe('')
      expect(code).toBe(0)
      expect(out).toMatch(/^tags {7}"furniture", "sale \\"50%\\""$/m)
      expect(out).toMatch(/^value {6}\{ name: 'desk' \}$/m)
      expect(out).toMatch(/^size {7}\d+ bytes \(serialized value, format json\)$/m)
    } finally {
      await cache.close()
    }
  })

  it('decodes v8-serialized values by their format tag, and reports a forced wrong serializer', async () => {
    const name = uniqueName('inspect-v8')
    const cache = new CacheManager<Map<string, number>>({
      name,
      handles: [redisHandle({ url, prefix: 'app1:' })],
      serializer: v8Serializer,
    })
    try {
      await cache.set('m', new Map([['a', 1]]))
      const auto = await inspect('--redis', url, '--cache', name, '--prefix', 'app1:', 'm')
      expect(auto.code).toBe(0)
      expect(auto.out).toMatch(/^mode {7}none$/m)
      expect(auto.out).not.toContain('expiresAt')
      expect(auto.out).toMatch(/format v8\)$/m)
      expect(auto.out).toMatch(/^value {6}Map\(1\) \{ 'a' => 1 \}$/m)
      const forced = await inspect(
        '--redis',
        url,
        '--cache',
        name,
        '--prefix',
        'app1:',
        '--serializer',
        'json',
        'm',
      )
      expect(forced.code).toBe(0)
      expect(forced.out).toMatch(
        /^value {6}\(cannot decode: bytes were not written by the JSON serializer\)$/m,
      )
      // Under the default prefix the item does not exist.
      expect((await inspect('--redis', url, '--cache', name, 'm')).code).toBe(EXIT_CODES.failed)
    } finally {
      await cache.close()
    }
  })

  it('exits 1 with a clear message for a missing key', async () => {
    const name = uniqueName('inspect-missing')
    const { code, out, err } = await inspect('--redis', url, '--cache', name, 'nope')
    expect(code).toBe(EXIT_CODES.failed)
    expect(out).toBe('')
    expect(err).toBe(`key "nope" not found in cache "${name}" on Redis ${url}`)
  })

  it('reads without touching: a sliding item is not extended by the inspection', async () => {
    const name = uniqueName('inspect-sliding')
    const cache = new CacheManager<string>({ name, handles: [redisHandle({ url })] })
    const client = new Redis(url)
    try {
      const stored = storeKey(cacheKeyPrefix('cacheplane:', name), undefined, 's')
      await cache.set('s', 'v', { expiration: { mode: 'sliding', ttl: 60_000 } })
      const before = await client.getBuffer(stored)
      // A touch now would move expiresAt (now + ttl) away from what the write stored.
      const writtenAt = Date.now()
      await waitFor(() => Date.now() > writtenAt + 2)
      const { code, out } = await inspect('--redis', url, '--cache', name, 's')
      expect(code).toBe(0)
      expect(out).toMatch(/^mode {7}sliding$/m)
      expect(await client.getBuffer(stored)).toEqual(before)
    } finally {
      await client.quit()
      await cache.close()
    }
  })

  it('exits 1 saying why when the stored bytes are not a cacheplane item', async () => {
    const name = uniqueName('inspect-corrupt')
    const client = new Redis(url)
    try {
      await client.set(storeKey(cacheKeyPrefix('cacheplane:', name), undefined, 'k'), 'not an item')
    } finally {
      await client.quit()
    }
    const { code, out, err } = await inspect('--redis', url, '--cache', name, 'k')
    expect(code).toBe(EXIT_CODES.failed)
    expect(out).toBe('')
    expect(err).toMatch(new RegExp(`^cacheplane inspect: cannot read "k" on Redis ${url}: .+`))
  })

  it('exits 2 naming the URL when Redis is unreachable', async () => {
    const deadUrl = `redis://127.0.0.1:${await freePort()}`
    const { code, err } = await inspect(
      '--redis',
      deadUrl,
      '--cache',
      'c',
      '--connect-timeout-ms',
      '500',
      'k',
    )
    expect(code).toBe(EXIT_CODES.unreachable)
    expect(err).toMatch(new RegExp(`^cacheplane inspect: cannot reach Redis at ${deadUrl}: .*ECONNREFUSED`))
  })
})

describe('Memcached', () => {
  const servers = inject('memcachedServers')

  it('shows the envelope of an item a CacheManager wrote', async () => {
    const name = uniqueName('inspect-mc')
    const cache = new CacheManager<string>({ name, handles: [memoryHandle(), memcachedHandle({ servers })] })
    try {
      await cache.set('greeting', 'hello', { region: 'r1', expiration: { mode: 'sliding', ttl: 120_000 } })
      const { code, out, err } = await inspect(
        '--memcached',
        servers,
        '--cache',
        name,
        '--region',
        'r1',
        'greeting',
      )
      expect(err).toBe('')
      expect(code).toBe(0)
      expect(out).toContain(`key "greeting" in region "r1" of cache "${name}" on Memcached ${servers}`)
      expect(out).toMatch(/^mode {7}sliding$/m)
      expect(out).toMatch(/^ttl {8}120000 ms$/m)
      const { version } = (await cache.getItem('greeting', { region: 'r1' }))!
      expect(out).toMatch(new RegExp(`^version {4}${version}$`, 'm'))
      expect(out).toMatch(/^value {6}'hello'$/m)
    } finally {
      await cache.close()
    }
  })

  it("finds keys spread over several servers, where the application's client put them", async () => {
    const pool = inject('memcachedServers2')
    const name = uniqueName('inspect-mc-pool')
    const cache = new CacheManager<number>({ name, handles: [memcachedHandle({ servers: pool })] })
    try {
      const keys = Array.from({ length: 8 }, (_, i) => `k${i}`)
      for (const [i, key] of keys.entries()) await cache.set(key, i)
      for (const [i, key] of keys.entries()) {
        const { code, out } = await inspect('--memcached', pool, '--cache', name, key)
        expect(code).toBe(0)
        expect(out).toMatch(new RegExp(`^value {6}${i}$`, 'm'))
      }
    } finally {
      await cache.close()
    }
  })

  it('exits 1 for a missing key and 2 for an unreachable server', async () => {
    const missing = await inspect('--memcached', servers, '--cache', uniqueName('inspect-mc-missing'), 'nope')
    expect(missing.code).toBe(EXIT_CODES.failed)
    expect(missing.err).toMatch(/^key "nope" not found in cache ".*" on Memcached /)
    const dead = `127.0.0.1:${await freePort()}`
    const down = await inspect(
      '--memcached',
      `${servers},${dead}`,
      '--cache',
      'c',
      '--connect-timeout-ms',
      '500',
      'k',
    )
    expect(down.code).toBe(EXIT_CODES.unreachable)
    expect(down.err).toContain(`cacheplane inspect: cannot reach Memcached at ${dead}:`)
    expect(down.err).not.toContain(servers)
  })
})
