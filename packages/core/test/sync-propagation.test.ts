import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../src/testing/wait-for.js'
import { type Cluster, cluster, nextEvent, quiesce } from './sync-fixtures.js'

let c: Cluster | undefined
afterEach(async () => {
  await c?.close()
  c = undefined
})

describe.each([
  ['no region', undefined],
  ['region eu', 'eu'],
])('propagation with %s', (_, region) => {
  it('set on A evicts B and C memory copies; they read the new value from the shared level', async () => {
    c = await cluster(3)
    const [a, b, cc] = c.managers as [(typeof c.managers)[0], (typeof c.managers)[0], (typeof c.managers)[0]]
    await a.set('k', 1, { region })
    await quiesce(c.managers)
    expect(await b.get('k', { region })).toBe(1) // from shared, copied up
    expect(await cc.get('k', { region })).toBe(1)
    const hitB = nextEvent(b, 'get')
    expect(await b.get('k', { region })).toBe(1)
    expect((await hitB).level).toBe(0) // now served from B's memory
    const remoteSet = nextEvent(b, 'set')
    await a.set('k', 2, { region })
    const event = await remoteSet
    expect(event).toEqual({ key: 'k', region, origin: 'remote' })
    expect(await b.get('k', { region })).toBe(2)
    expect(await cc.get('k', { region })).toBe(2)
  })

  it.each(['remove', 'expire', 'update', 'add'] as const)('%s propagates with origin remote', async (op) => {
    c = await cluster(2)
    const [a, b] = c.managers as [(typeof c.managers)[0], (typeof c.managers)[0]]
    if (op !== 'add') await a.set('k', 1, { region })
    await quiesce(c.managers)
    expect(await b.get('k', { region })).toBe(op === 'add' ? undefined : 1)
    const localEvent = nextEvent(a, op === 'remove' ? 'remove' : op)
    const remoteEvent = nextEvent(b, op === 'remove' ? 'remove' : op)
    if (op === 'remove') expect(await a.remove('k', { region })).toBe(true)
    if (op === 'expire') expect(await a.expire('k', { mode: 'absolute', ttl: 60_000 }, { region })).toBe(true)
    if (op === 'update') expect(await a.update('k', (v) => (v as number) + 1, { region })).toBe(2)
    if (op === 'add') expect(await a.add('k', 7, { region })).toBe(true)
    expect((await localEvent).origin).toBe('local')
    const remote = await remoteEvent
    expect(remote.origin).toBe('remote')
    expect(remote.key).toBe('k')
    const expected = { remove: undefined, expire: 1, update: 2, add: 7 }[op]
    expect(await b.get('k', { region })).toBe(expected)
  })
})

describe('clears', () => {
  it('clear on A clears every level here and evicts B memory', async () => {
    c = await cluster(2)
    const [a, b] = c.managers as [(typeof c.managers)[0], (typeof c.managers)[0]]
    await a.set('x', 1)
    await a.set('y', 2, { region: 'r' })
    expect(await b.get('x')).toBe(1)
    const cleared = nextEvent(b, 'clear')
    await a.clear()
    expect((await cleared).origin).toBe('remote')
    expect(await b.get('x')).toBeUndefined()
    expect(await b.get('y', { region: 'r' })).toBeUndefined()
  })

  it('clearRegion touches one region only, and the same key in two regions is two items', async () => {
    c = await cluster(2)
    const [a, b] = c.managers as [(typeof c.managers)[0], (typeof c.managers)[0]]
    await a.set('k', 'eu', { region: 'eu' })
    await a.set('k', 'us', { region: 'us' })
    await a.set('k', 'none')
    expect(await b.get('k', { region: 'eu' })).toBe('eu')
    expect(await b.get('k', { region: 'us' })).toBe('us')
    expect(await b.get('k')).toBe('none')
    const event = nextEvent(b, 'clearRegion')
    await a.clearRegion('eu')
    expect(await event).toEqual({ region: 'eu', origin: 'remote' })
    expect(await b.get('k', { region: 'eu' })).toBeUndefined()
    expect(await b.get('k', { region: 'us' })).toBe('us')
    expect(await b.get('k')).toBe('none')
  })
})

describe('memory-only with a backplane', () => {
  it('a remote change evicts our own copy', async () => {
    c = await cluster(2, { memoryOnly: true })
    const [a, b] = c.managers as [(typeof c.managers)[0], (typeof c.managers)[0]]
    const heardByA = nextEvent(a, 'set')
    await b.set('k', 'b-copy')
    await heardByA // B's message has reached A before A writes (otherwise it would evict A's write)
    const remote = nextEvent(b, 'set')
    await a.set('k', 'a-value')
    await remote
    expect(await b.get('k')).toBeUndefined() // evicted; memory-only has nothing below
    expect(await a.get('k')).toBe('a-value')
  })
})

describe('own frames', () => {
  it('are skipped: a writer never evicts its own fresh copy', async () => {
    c = await cluster(2)
    const [a, b] = c.managers as [(typeof c.managers)[0], (typeof c.managers)[0]]
    const events: string[] = []
    a.on('set', (e) => events.push(e.origin))
    await a.set('k', 1)
    await a.flush()
    expect(a.stats().backplane?.messagesSent).toBe(1)
    await waitFor(() => (b.stats().backplane?.messagesReceived ?? 0) >= 1)
    await waitFor(() => (a.stats().backplane?.ownFramesSkipped ?? 0) >= 1)
    expect(events).toEqual(['local'])
    const hit = nextEvent(a, 'get')
    expect(await a.get('k')).toBe(1)
    expect((await hit).level).toBe(0)
    expect(a.stats().handles.memory?.removes).toBe(0)
  })
})

describe('unrelated caches', () => {
  it('never hear each other (one channel per cache name)', async () => {
    c = await cluster(1, { name: 'users' })
    const other = await cluster(1, { name: 'orders' })
    try {
      const [users] = c.managers
      const [orders] = other.managers
      await orders!.set('k', 'o')
      await users!.set('k', 'u')
      await waitFor(() => (users!.stats().backplane?.ownFramesSkipped ?? 0) >= 1)
      expect(orders!.stats().backplane?.framesReceived).toBe(1) // only its own
      expect(await orders!.get('k')).toBe('o')
    } finally {
      await other.close()
    }
  })
})

describe('distributed handles and remote messages', () => {
  it('are never touched by remote messages, but hear remote clears through onRemoteClear', async () => {
    const { memoryHandle } = await import('@cacheplane/memory')
    const { CacheManager, createBackplaneHub, memoryBackplane } = await import('../src/index.js')
    const { spyHandle } = await import('./sync-fixtures.js')
    const hub = createBackplaneHub()
    const shared = memoryHandle({ name: 'shared', distributed: true })
    const heard: Array<string | undefined> = []
    const calls: string[] = []
    const spied = spyHandle(shared, {
      onRemoteClear: (region) => {
        heard.push(region)
      },
      remove: (key, region) => {
        calls.push(`remove ${key}`)
        return shared.remove(key, region)
      },
      clear: () => {
        calls.push('clear')
        return shared.clear()
      },
    })
    const a = new CacheManager({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), shared],
      backplane: memoryBackplane({ hub }),
    })
    const b = new CacheManager({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), spied],
      backplane: memoryBackplane({ hub }),
    })
    try {
      await Promise.all([a.ready(), b.ready()])
      // One at a time: queued together, the clear would supersede the others (bus dedup).
      for (const write of [
        () => a.set('k', 1),
        () => a.remove('k'),
        () => a.clearRegion('r'),
        () => a.clear(),
      ]) {
        await write()
        await quiesce([a, b])
      }
      await waitFor(() => heard.length === 2)
      expect(heard).toEqual(['r', undefined])
      expect(calls).toEqual([]) // B never removed or cleared anything in the shared store
      expect(b.stats().backplane?.messagesReceived).toBe(4)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('a local handle that evicts by itself reports evict without telling anyone', async () => {
    c = await cluster(2, { memoryOnly: true })
    const { memoryHandle } = await import('@cacheplane/memory')
    const { CacheManager } = await import('../src/index.js')
    const memory = memoryHandle({ name: 'memory', maxEntries: 1 })
    const cache = new CacheManager({ name: 'solo', handles: [memory] })
    try {
      const evicted = nextEvent(cache, 'evict')
      await cache.set('a', 1)
      await cache.set('b', 2)
      expect(await evicted).toEqual({
        key: 'a',
        region: undefined,
        reason: 'evicted',
        handle: 'memory',
        level: 0,
      })
      expect(cache.stats().handles.memory?.evictions).toBe(1)
    } finally {
      await cache.close()
    }
  })
})

describe('reads across levels', () => {
  it('getItem reports the level and metadata; has sees lower levels; getOrAdd copies the winner up', async () => {
    c = await cluster(2)
    const [a, b] = c.managers as [(typeof c.managers)[0], (typeof c.managers)[0]]
    await a.set('k', 'v', { expiration: { mode: 'absolute', ttl: 60_000 } })
    await quiesce(c.managers)
    expect(await b.has('k')).toBe(true)
    const first = await b.getItem('k')
    expect(first).toMatchObject({ value: 'v', mode: 'absolute', ttl: 60_000, level: 1 })
    const second = await b.getItem('k')
    expect(second).toMatchObject({
      value: 'v',
      level: 0,
      version: first?.version,
      expiresAt: first?.expiresAt,
    })
    expect(await b.has('absent')).toBe(false)
    expect(await b.getOrAdd('k', () => 'other')).toBe('v')
    expect(await b.getOrAdd('fresh', () => 'made')).toBe('made')
    expect((await b.getItem('fresh'))?.level).toBe(0)
    expect(await a.get('fresh')).toBe('made')
  })
})
