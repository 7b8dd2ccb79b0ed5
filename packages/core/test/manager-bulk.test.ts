// getMany / setMany / removeMany through the manager: order, duplicates, partial hits
// across levels, the fence per key, handles with and without bulk methods, bad input.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type BulkEntry,
  type CacheHandle,
  CacheManager,
  InvalidKeyError,
  InvalidOptionsError,
  InvalidValueError,
  ItemCorruptError,
  memoryBackplane,
  type StoredItem,
} from '../src/index.js'
import { waitFor } from '../src/testing/index.js'
import { cluster, nextEvent, quiesce, spyHandle } from './sync-fixtures.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

async function pair() {
  const c = await cluster(2)
  closers.push(() => c.close())
  const [writer, reader] = c.managers as [CacheManager<unknown>, CacheManager<unknown>]
  return { ...c, writer, reader }
}

/** The calls a handle got, by member name, with their key lists. */
function recording(inner: CacheHandle<unknown>, members: readonly string[]) {
  const calls: Array<{ member: string; keys: string[] }> = []
  const overrides: Partial<CacheHandle<unknown>> = {}
  const target = inner as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const member of members) {
    ;(overrides as Record<string, unknown>)[member] = (first: unknown, ...rest: unknown[]) => {
      const keys = Array.isArray(first)
        ? first.map((k) => (typeof k === 'string' ? k : (k as BulkEntry).key))
        : [first as string]
      calls.push({ member, keys })
      return target[member]!.call(inner, first, ...rest)
    }
  }
  return { handle: spyHandle(inner, overrides), calls }
}

/** A manager of cache `name` over the store alone: its writes skip the other managers' memory. */
function storeWriter(shared: CacheHandle<unknown>, name = 'c'): CacheManager<unknown> {
  const m = new CacheManager({ name, handles: [shared], shared: [shared] })
  closers.push(() => m.close())
  return m
}

/** A handle of the plain contract only: no getMany, setMany or removeMany. */
function withoutBulk(inner: CacheHandle<unknown>): CacheHandle<unknown> {
  const h = inner
  return {
    name: h.name,
    capabilities: h.capabilities,
    get: (k, r) => h.get(k, r),
    add: (k, r, i) => h.add(k, r, i),
    set: (k, r, i) => h.set(k, r, i),
    update: (k, r, v, i) => h.update(k, r, v, i),
    remove: (k, r) => h.remove(k, r),
    expire: (k, r, m, t, e) => h.expire(k, r, m, t, e),
    clear: () => h.clear(),
    clearRegion: (r) => h.clearRegion(r),
    close: () => h.close(),
    bind: (n) => h.bind?.(n),
  }
}

describe('getMany', () => {
  it('returns values in the order of the keys, duplicates included, undefined for misses', async () => {
    const { writer, reader } = await pair()
    await writer.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: { n: 2 } },
    ])
    expect(await reader.getMany(['b', 'x', 'a', 'b'])).toEqual([{ n: 2 }, undefined, 1, { n: 2 }])
    expect(await reader.getMany([])).toEqual([])
  })

  it('asks each level once, for the keys still missing, and copies the lower hits up', async () => {
    const memory = memoryHandle({ name: 'memory' })
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const spy = recording(shared, ['get', 'getMany'])
    const cache = new CacheManager({
      name: 'c',
      handles: [memory, spy.handle] as CacheHandle<unknown>[],
      shared: [spy.handle],
    })
    closers.push(() => cache.close())
    await cache.set('top', 'T')
    await storeWriter(shared).set('low', 'L')
    spy.calls.length = 0
    expect(await cache.getMany(['top', 'low', 'none', 'low'])).toEqual(['T', 'L', undefined, 'L'])
    expect(spy.calls).toEqual([{ member: 'getMany', keys: ['low', 'none'] }])
    expect(memory.get('low', undefined)?.value).toBe('L') // copied up
    expect(memory.get('none', undefined)).toBeUndefined()
    expect(cache.stats().handles.shared).toMatchObject({ hits: 1, misses: 1 })
  })

  it('reads key by key from a handle without getMany', async () => {
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const spy = recording(withoutBulk(shared), ['get', 'set', 'remove'])
    const cache = new CacheManager({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), spy.handle] as CacheHandle<unknown>[],
    })
    closers.push(() => cache.close())
    await cache.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ])
    expect(spy.calls.map((c) => c.member)).toEqual(['set', 'set'])
    await cache.removeMany(['a'])
    expect(await cache.getMany(['a', 'b'])).toEqual([undefined, 2])
    expect(spy.calls.filter((c) => c.member === 'get').map((c) => c.keys[0])).toEqual(['a'])
  })

  it('a key invalidated while the lower read is in flight is returned but not copied up; the others are', async () => {
    const { writer, reader, shared, hub } = await pair()
    await writer.setMany([
      { key: 'k1', value: 'old' },
      { key: 'k2', value: 'two' },
    ])
    await quiesce([writer, reader])
    // A second reader whose lower level holds its getMany after reading.
    let release!: () => void
    let reached!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const entered = new Promise<void>((r) => (reached = r))
    const held = spyHandle(shared, {
      capabilities: { ...shared.capabilities, synchronous: false },
      async getMany(keys: readonly string[], region: string | undefined) {
        const items = shared.getMany!(keys, region) as Array<StoredItem<unknown> | undefined>
        reached()
        await gate
        return items
      },
    })
    const memory = memoryHandle({ name: 'memory' })
    const third = new CacheManager({
      name: 'users',
      handles: [memory, held] as CacheHandle<unknown>[],
      shared: [held],
      backplane: memoryBackplane({ hub }),
    })
    closers.push(() => third.close())
    await third.ready()
    const read = third.getMany(['k1', 'k2'])
    await entered
    const heard = nextEvent(third, 'set', (e) => e.key === 'k1')
    await writer.set('k1', 'new')
    await heard
    release()
    expect(await read).toEqual(['old', 'two'])
    expect(memory.get('k1', undefined)).toBeUndefined() // fenced
    expect(memory.get('k2', undefined)?.value).toBe('two') // copied
    expect(await third.get('k1')).toBe('new')
  })

  it('treats a logically expired item as a miss, served with allowStale', async () => {
    const { writer, reader } = await pair()
    await writer.setMany([{ key: 'g', value: 'graced' }], {
      expiration: { mode: 'absolute', ttl: 20 },
      grace: 60_000,
    })
    await waitFor(async () => (await reader.get('g')) === undefined, { timeoutMs: 5_000 })
    expect(await reader.getMany(['g'])).toEqual([undefined])
    expect(await reader.getMany(['g', 'x'], { allowStale: true })).toEqual(['graced', undefined])
    expect(reader.stats().factory.staleReads).toBe(1)
  })

  it('a corrupt item in a handle getMany batch is missed alone', async () => {
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const handle = spyHandle(shared, {
      getMany: () => {
        throw new ItemCorruptError('one item does not decode')
      },
      get: (key: string, region: string | undefined) => {
        if (key === 'bad') throw new ItemCorruptError('bad does not decode')
        return shared.get(key, region)
      },
    })
    const cache = new CacheManager({
      name: 'c',
      handles: [memoryHandle(), handle] as CacheHandle<unknown>[],
      shared: [handle],
    })
    closers.push(() => cache.close())
    await storeWriter(shared).setMany([
      { key: 'good', value: 1 },
      { key: 'bad', value: 2 },
    ])
    const errors: string[] = []
    cache.on('error', (e) => errors.push(e.error.code))
    expect(await cache.getMany(['good', 'bad'])).toEqual([1, undefined])
    expect(errors).toEqual(['E_ITEM_CORRUPT'])
  })
})

describe('setMany and removeMany', () => {
  it('write every level with one call per level and announce every key in one frame', async () => {
    const { writer, reader, shared } = await pair()
    await reader.getMany(['a', 'b', 'c']) // nothing yet
    await writer.setMany([
      { key: 'a', value: 0 },
      { key: 'b', value: 0 },
      { key: 'c', value: 0 },
    ])
    await quiesce([writer, reader])
    expect(await reader.getMany(['a', 'b', 'c'])).toEqual([0, 0, 0]) // copied into reader's memory
    const framesBefore = writer.stats().backplane!.framesSent
    await writer.setMany(['a', 'b', 'c'].map((key, i) => ({ key, value: i + 1 })))
    await writer.flush()
    expect(writer.stats().backplane!.framesSent - framesBefore).toBe(1)
    await waitFor(async () => (await reader.getMany(['a', 'b', 'c'])).join() === '1,2,3', {
      timeoutMs: 5_000,
    })
    expect(shared.get('b', undefined)).toBeDefined()
    await writer.removeMany(['a', 'c', 'a'])
    await writer.flush()
    await waitFor(async () => (await reader.getMany(['a', 'b', 'c'])).join() === ',2,', { timeoutMs: 5_000 })
    expect(shared.get('a', undefined)).toBeUndefined()
  })

  it('announce a batch larger than one frame in as few frames as the frame size allows', async () => {
    const { writer, reader } = await pair()
    const keys = Array.from({ length: 3000 }, (_, i) => `${'k'.repeat(1000)}${i}`)
    await writer.setMany(keys.map((key) => ({ key, value: 0 })))
    await quiesce([writer, reader])
    expect((await reader.getMany(keys)).every((v) => v === 0)).toBe(true) // copied into reader's memory
    const clears: unknown[] = []
    reader.on('clear', (e) => clears.push(e))
    const framesBefore = writer.stats().backplane!.framesSent
    await writer.setMany(keys.map((key) => ({ key, value: 1 })))
    await writer.flush()
    const frames = writer.stats().backplane!.framesSent - framesBefore
    // ~3 MB of keys: more than one frame, and no more than the bytes need.
    expect(frames).toBeGreaterThan(1)
    expect(frames).toBeLessThanOrEqual(4)
    await waitFor(async () => (await reader.getMany(keys)).every((v) => v === 1), { timeoutMs: 10_000 })
    expect(clears).toEqual([]) // key messages, not a queue overflow collapsed into a clear
  })

  it('keeps the last value of a repeated key', async () => {
    const { writer } = await pair()
    await writer.setMany([
      { key: 'k', value: 1 },
      { key: 'j', value: 2 },
      { key: 'k', value: 3 },
    ])
    expect(await writer.getMany(['k', 'j'])).toEqual([3, 2])
  })

  it('a key invalidated during the bottom write is evicted above instead of written; the others are written', async () => {
    const c = await cluster(2)
    closers.push(() => c.close())
    const [, other] = c.managers as [CacheManager<unknown>, CacheManager<unknown>]
    let release!: () => void
    let reached!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const entered = new Promise<void>((r) => (reached = r))
    const memory = memoryHandle({ name: 'memory' })
    const held = spyHandle(c.shared, {
      capabilities: { ...c.shared.capabilities, synchronous: false },
      async setMany(entries: ReadonlyArray<BulkEntry<unknown>>, region: string | undefined) {
        const versions = c.shared.setMany!(entries, region)
        reached()
        await gate
        return versions
      },
    })
    const slow = new CacheManager({
      name: 'users',
      handles: [memory, held] as CacheHandle<unknown>[],
      shared: [held],
      backplane: memoryBackplane({ hub: c.hub }),
    })
    closers.push(() => slow.close())
    await slow.ready()
    const writing = slow.setMany([
      { key: 'x', value: 'mine' },
      { key: 'y', value: 'mine' },
    ])
    await entered
    const heard = nextEvent(slow, 'set', (e) => e.key === 'x' && e.origin === 'remote')
    await other.set('x', 'theirs')
    await heard
    release()
    await writing
    expect(memory.get('x', undefined)).toBeUndefined()
    expect(memory.get('y', undefined)?.value).toBe('mine')
  })
})

describe('bad input rejects the whole call before anything is written', () => {
  it('setMany: one bad key, value or entry', async () => {
    const { writer, shared } = await pair()
    await expect(
      writer.setMany([
        { key: 'a', value: 1 },
        { key: '', value: 2 },
      ]),
    ).rejects.toBeInstanceOf(InvalidKeyError)
    await expect(
      writer.setMany([
        { key: 'a', value: 1 },
        { key: 'b', value: undefined },
      ]),
    ).rejects.toBeInstanceOf(InvalidValueError)
    await expect(writer.setMany([{ key: 'a', value: 1 }, null as never])).rejects.toBeInstanceOf(
      InvalidOptionsError,
    )
    await expect(writer.setMany('a' as never)).rejects.toBeInstanceOf(InvalidOptionsError)
    await expect(writer.setMany([{ key: 'a', value: 1 }], { region: '' })).rejects.toBeInstanceOf(
      InvalidKeyError,
    )
    expect(shared.get('a', undefined)).toBeUndefined()
    expect(await writer.get('a')).toBeUndefined()
  })

  it('getMany and removeMany: one bad key', async () => {
    const { writer, shared } = await pair()
    await writer.set('a', 1)
    await expect(writer.getMany(['a', 7 as never])).rejects.toBeInstanceOf(InvalidKeyError)
    await expect(writer.getMany('a' as never)).rejects.toBeInstanceOf(InvalidKeyError)
    await expect(writer.removeMany(['a', ''])).rejects.toBeInstanceOf(InvalidKeyError)
    expect(shared.get('a', undefined)).toBeDefined()
    expect(await writer.get('a')).toBe(1)
  })
})
