// Tags and removeByTag (issue 13): every read path against a tag invalidation, across
// instances, through the fence, a gap, stale reads, and bad input.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type Backplane,
  type CacheHandle,
  CacheManager,
  createBackplaneHub,
  InvalidKeyError,
  InvalidOptionsError,
  memoryBackplane,
} from '../src/index.js'
import { TAG_REGION } from '../src/tags.js'
import { chaosBackplane } from '../src/testing/index.js'
import { waitFor } from '../src/testing/wait-for.js'
import { cluster, holdableHandle, nextEvent, orderedConnection, quiesce } from './sync-fixtures.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

async function two(options: { memoryOnly?: boolean } = {}) {
  const c = await cluster(2, options)
  closers.push(() => c.close())
  const [a, b] = c.managers as [CacheManager<unknown>, CacheManager<unknown>]
  return { ...c, a, b }
}

/** A writer (memory over one distributed memory store, `shared`) on a new hub. */
function sharedStoreWriter() {
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const writer = new CacheManager<unknown>({
    name: 'c',
    handles: [memoryHandle({ name: 'memory' }), shared] as CacheHandle<unknown>[],
    shared: [shared],
    backplane: memoryBackplane({ hub }),
  })
  closers.push(() => writer.close())
  return { hub, shared, writer }
}

/**
 * {@link sharedStoreWriter} and a reader that reaches the store through a handle whose next
 * get can be held, and the hub through a chaos backplane.
 */
async function writerAndHeldReader() {
  const { hub, shared, writer } = sharedStoreWriter()
  const held = holdableHandle(shared)
  const chaos = chaosBackplane(memoryBackplane({ hub }))
  const readerMemory = memoryHandle({ name: 'memory' })
  const reader = new CacheManager<unknown>({
    name: 'c',
    handles: [readerMemory, held.handle] as CacheHandle<unknown>[],
    backplane: chaos,
  })
  closers.push(() => reader.close())
  await Promise.all([writer.ready(), reader.ready()])
  return { writer, reader, readerMemory, held, chaos }
}

/** `inner`, answering asynchronously, whose reads of tag stamps can be held before they reach it. */
function gatedStampReads(inner: CacheHandle<unknown>) {
  let gate: { reached: () => void; opened: Promise<void> } | undefined
  let itemReads = 0
  const handle: CacheHandle<unknown> = {
    ...holdableHandle(inner).handle,
    async get(key: string, region: string | undefined) {
      const held = region === TAG_REGION ? gate : undefined
      if (held !== undefined) {
        held.reached()
        await held.opened
      }
      const item = await inner.get(key, region)
      if (region !== TAG_REGION) itemReads++
      return item
    },
  }
  /** Holds every stamp read from now on until `release`; `reached` resolves at the first. */
  const holdStampReads = () => {
    let release!: () => void
    let reached!: () => void
    const opened = new Promise<void>((r) => {
      release = () => {
        gate = undefined
        r()
      }
    })
    const first = new Promise<void>((r) => {
      reached = r
    })
    gate = { reached, opened }
    return { reached: first, release }
  }
  return { handle, holdStampReads, itemReads: () => itemReads }
}

describe('removeByTag on one instance', () => {
  it('every read path misses an item carrying the tag; untagged and other-tag items stay', async () => {
    const { a } = await two()
    await a.set('u1', 'one', { tags: ['user:1', 'all'] })
    await a.set('u2', 'two', { tags: ['user:2'] })
    await a.set('plain', 'p')
    expect(a.peek('u1')).toBe('one')
    await a.removeByTag('user:1')
    expect(a.peek('u1')).toBeUndefined()
    expect(await a.get('u1')).toBeUndefined()
    expect(await a.getItem('u1')).toBeUndefined()
    expect(await a.has('u1')).toBe(false)
    let calls = 0
    expect(await a.getOrAdd('u1', () => ++calls && 'fresh')).toBe('fresh')
    expect(calls).toBe(1)
    expect(await a.get('u2')).toBe('two')
    expect(await a.get('plain')).toBe('p')
    expect(await a.getOrAdd('u2', () => 'never')).toBe('two')
  })

  it('a value written after the invalidation is served, and removeByTag takes several tags', async () => {
    const { a } = await two()
    await a.set('k', 'old', { tags: ['t'] })
    await a.removeByTag(['t', 'other'])
    await a.set('k', 'new', { tags: ['t'] })
    expect(await a.get('k')).toBe('new')
    await a.set('j', 'j', { tags: ['other'] })
    await a.removeByTag(['x', 'other'])
    expect(await a.get('j')).toBeUndefined()
    expect(await a.get('k')).toBe('new')
  })

  it('add, addOrUpdate and getOrAdd tag their items; add finds a tag-invalidated key absent', async () => {
    const { a } = await two()
    expect(await a.add('a', 1, { tags: ['t'] })).toBe(true)
    expect(await a.addOrUpdate('b', 1, (v) => (v as number) + 1, { tags: ['t'] })).toBe(1)
    expect(await a.getOrAdd('c', () => 1, { tags: ['t'] })).toBe(1)
    await a.removeByTag('t')
    for (const key of ['a', 'b', 'c']) expect(await a.get(key)).toBeUndefined()
    expect(await a.add('a', 2)).toBe(true)
    expect(await a.get('a')).toBe(2)
  })

  it('the factory context sets tags', async () => {
    const { a } = await two()
    await a.getOrAdd('k', (_key, _region, ctx) => {
      ctx.setTags(['from-factory'])
      return 'v'
    })
    await a.removeByTag('from-factory')
    expect(await a.get('k')).toBeUndefined()
  })

  it('update keeps the tags of the item it replaces, and refuses a tags option', async () => {
    const { a } = await two()
    await a.set('n', 1, { tags: ['t'] })
    expect(await a.update('n', (v) => (v as number) + 1)).toBe(2)
    await expect(a.update('n', (v) => v, { tags: ['x'] })).rejects.toBeInstanceOf(InvalidOptionsError)
    await a.removeByTag('t')
    expect(await a.get('n')).toBeUndefined()
    await expect(a.update('n', (v) => v)).rejects.toThrow(/no item/)
  })
})

describe('removeByTag across instances', () => {
  it('memory over a shared store: the other instance drops its memory copy once the message arrives', async () => {
    const { a, b } = await two()
    await a.set('k', 'v', { tags: ['t'] })
    expect(await b.get('k')).toBe('v') // copied into b's memory
    expect(b.peek('k')).toBe('v')
    await a.removeByTag('t')
    await quiesce([a, b])
    expect(b.peek('k')).toBeUndefined()
    expect(await b.get('k')).toBeUndefined()
    expect(await b.has('k')).toBe(false)
    expect(await b.getItem('k')).toBeUndefined()
  })

  it('memory-only with a backplane: an invalidation reaches the items every instance wrote', async () => {
    const { a, b } = await two({ memoryOnly: true })
    await b.set('k', 'b-value', { tags: ['t'] })
    await a.set('k', 'a-value', { tags: ['t'] })
    await quiesce([a, b])
    await b.set('k2', 'b2', { tags: ['t'] })
    await a.removeByTag('t')
    await quiesce([a, b])
    expect(b.peek('k2')).toBeUndefined()
    expect(await b.get('k2')).toBeUndefined()
    expect(await a.get('k')).toBeUndefined()
    // Written after the invalidation was heard: served.
    await b.set('k3', 'b3', { tags: ['t'] })
    expect(await b.get('k3')).toBe('b3')
  })

  it('an instance that never saw the tag reads its stamp from the store before trusting an item', async () => {
    const { a, shared, hub } = await two()
    await a.set('k', 'old', { tags: ['t'] })
    await a.removeByTag('t')
    // A new instance, started after the message went out: it only has the store.
    const late = new CacheManager<unknown>({
      name: 'users',
      handles: [memoryHandle({ name: 'memory' }), shared] as CacheHandle<unknown>[],
      shared: [shared],
      backplane: memoryBackplane({ hub, name: 'late' }),
    })
    closers.unshift(() => late.close())
    await late.ready()
    expect(await late.has('k')).toBe(false)
    expect(await late.get('k')).toBeUndefined()
    expect(await late.getOrAdd('k', () => 'new')).toBe('new')
  })

  it('items written before a tag was ever invalidated stay readable by every instance', async () => {
    const { a, b } = await two()
    await a.set('k', 'v', { tags: ['fresh-tag'] })
    expect(await b.get('k')).toBe('v')
    expect(await b.has('k')).toBe(true)
  })
})

describe('tags and bulk calls', () => {
  it('getMany misses tag-invalidated items on every instance, at the top and below it', async () => {
    const { a, b } = await two()
    await a.setMany(
      [
        { key: 'x', value: 'x1' },
        { key: 'y', value: 'y1' },
      ],
      { tags: ['t'] },
    )
    await a.set('z', 'z1')
    expect(await b.getMany(['x', 'y', 'z'])).toEqual(['x1', 'y1', 'z1']) // b's memory now holds them
    expect(await a.getMany(['x', 'z'])).toEqual(['x1', 'z1'])
    await a.removeByTag('t')
    await waitFor(() => b.peek('x') === undefined, { message: 'b never heard the tag invalidation' })
    expect(await a.getMany(['x', 'y', 'z'])).toEqual([undefined, undefined, 'z1'])
    expect(await b.getMany(['x', 'y', 'z'])).toEqual([undefined, undefined, 'z1'])
    expect(await b.getMany(['x', 'y'], { allowStale: true })).toEqual([undefined, undefined])
  })

  it('an instance that never saw the tag judges store items by the stamp before serving them through getMany', async () => {
    const { a, b } = await two()
    await a.set('k', 'v', { tags: ['t'] })
    await a.removeByTag('t')
    await a.set('fresh', 'f', { tags: ['t'] })
    expect(await b.getMany(['k', 'fresh'])).toEqual([undefined, 'f'])
  })
})

describe('tags and the fence', () => {
  it('a read in flight when the tag is invalidated copies nothing up', async () => {
    const { writer, reader, readerMemory, held } = await writerAndHeldReader()
    await writer.set('k', 'old', { tags: ['t'] })
    expect(await reader.has('k')).toBe(true) // the reader has loaded the tag's stamp
    const { reached, release } = held.holdNextGet()
    const read = reader.get('k')
    await reached // the lower read has the old item in hand
    await writer.removeByTag('t')
    await quiesce([writer, reader])
    release()
    expect(await read).toBeUndefined() // judged after the invalidation: a miss
    expect(readerMemory.get('k', undefined)).toBeUndefined()
    expect(await reader.get('k')).toBeUndefined()
  })
})

describe('tags and stamp loads', () => {
  it('a stamp load in flight when the tag is invalidated does not install the older stamp', async () => {
    const { writer, reader, readerMemory, held } = await writerAndHeldReader()
    await writer.set('k', 'old', { tags: ['t'] })
    const item = held.holdNextGet()
    const read = reader.get('k')
    await item.reached // the item is in hand; the reader has never seen 't'
    const stamp = held.holdNextGet()
    item.release()
    await stamp.reached // the stamp load read the store before the invalidation
    await writer.removeByTag('t')
    await quiesce([writer, reader])
    stamp.release()
    expect(await read).toBeUndefined()
    expect(readerMemory.get('k', undefined)).toBeUndefined()
    expect(await reader.get('k')).toBeUndefined()
  })
})

describe('tags and grace', () => {
  it('a tag-invalidated item is never served stale: not by allowStale, getItem, nor fail-safe', async () => {
    const { a } = await two()
    const expiration = { mode: 'absolute', ttl: 30 } as const
    await a.set('k', 'v', { tags: ['t'], expiration, grace: 60_000 })
    await waitFor(async () => (await a.get('k')) === undefined, { message: 'k expired' })
    expect(await a.get('k', { allowStale: true })).toBe('v')
    await a.removeByTag('t')
    expect(await a.get('k', { allowStale: true })).toBeUndefined()
    expect(await a.getItem('k', { allowStale: true })).toBeUndefined()
    await expect(
      a.getOrAdd(
        'k',
        () => {
          throw new Error('down')
        },
        { grace: 60_000, expiration },
      ),
    ).rejects.toThrow(/factory failed/)
  })
})

describe('tags and gaps', () => {
  it('an unrecovered gap kept by policy re-reads the stamps: an invalidation it hid is honoured', async () => {
    const { hub, shared, writer } = sharedStoreWriter()
    const chaos = chaosBackplane(memoryBackplane({ hub }))
    const reader = new CacheManager<unknown>({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), shared] as CacheHandle<unknown>[],
      shared: [shared],
      backplane: chaos,
      gapPolicy: 'keep',
    })
    closers.push(() => reader.close())
    await Promise.all([writer.ready(), reader.ready()])
    await writer.set('k', 'v', { tags: ['t'] })
    expect(await reader.get('k')).toBe('v')
    chaos.dropIncoming(true)
    await writer.removeByTag('t')
    await writer.flush()
    expect(reader.peek('k')).toBe('v') // the message was lost: nothing told the reader yet
    chaos.dropIncoming(false)
    chaos.emitGap({ recovered: false })
    await waitFor(async () => (await reader.get('k')) === undefined, { message: 'gap honoured' })
    expect(reader.peek('k')).toBeUndefined()
  })

  it('a gap heard while update judges the item makes it read again, not answer missing', async () => {
    const { writer, reader, held, chaos } = await writerAndHeldReader()
    await writer.set('k', 1, { tags: ['t'] })
    const item = held.holdNextGet()
    const updated = reader.tryUpdate('k', (n) => (n as number) + 1)
    await item.reached // update read the item
    const stamp = held.holdNextGet()
    item.release()
    await stamp.reached // and is reading its tag's stamp from the store
    chaos.emitGap({ recovered: false }) // forgets every stamp: this judgement has no verdict
    stamp.release()
    expect(await updated).toEqual({ ok: true, value: 2 })
    await quiesce([writer, reader])
    expect(await writer.get('k')).toBe(2)
  })

  it('a gap while a write loads its stamps: the write records the stamps, and every instance reads it', async () => {
    const { writer, reader, held, chaos } = await writerAndHeldReader()
    await writer.removeByTag('t') // the tag has a stamp in the store
    const stamp = held.holdNextGet()
    const written = reader.set('k', 'v', { tags: ['t'] })
    await stamp.reached // the write is reading its tag's stamp from the store
    chaos.emitGap({ recovered: false }) // forgets every stamp before the write records it
    stamp.release()
    await written
    await quiesce([writer, reader])
    // Before: the write recorded an unreadable mark, and the item was a miss everywhere.
    expect(await writer.get('k')).toBe('v')
    expect(await reader.get('k')).toBe('v')
  })
})

describe('tags and clears not heard yet', () => {
  it('a stamp known to exist and missing from the store is taken for a clear: the item is not revived', async () => {
    const { hub, shared, writer } = sharedStoreWriter()
    const gated = gatedStampReads(shared)
    const reader = new CacheManager<unknown>({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), gated.handle] as CacheHandle<unknown>[],
      backplane: memoryBackplane({ hub }),
    })
    closers.push(() => reader.close())
    await Promise.all([writer.ready(), reader.ready()])
    await writer.set('k', 'v', { tags: ['t'] }) // no stamp yet: marked "never invalidated"
    const stampRead = gated.holdStampReads()
    await writer.removeByTag('t')
    await stampRead.reached // the reader heard it and reads the new stamp again
    const itemReads = gated.itemReads()
    const read = reader.get('k') // fetches the item, then waits for that stamp
    await waitFor(() => gated.itemReads() > itemReads, { message: 'the item fetched' })
    shared.clear() // another instance's clear, not announced yet: the stamp item goes too
    const cleared = nextEvent(reader, 'clear')
    stampRead.release()
    expect(await read).toBeUndefined() // before: "no stamp" matched the item's mark, and v was served
    expect((await cleared).origin).toBe('remote')
    await writer.clear() // stands for the clear's announcement, which reaches every instance
    await writer.set('k', 'new', { tags: ['t'] })
    await quiesce([writer, reader])
    expect(await reader.get('k')).toBe('new') // the tag is usable again
  })
})

describe('a removeByTag whose stamp write fails', () => {
  it('is announced, and no instance takes the stamp missing from the store for a clear', async () => {
    const { hub, shared, writer: reader } = sharedStoreWriter()
    // The writer's store connection refuses its next stamp write (it may or may not land).
    let refuse = true
    const refusing: CacheHandle<unknown> = {
      ...holdableHandle(shared).handle,
      async set(key, region, item) {
        if (region === TAG_REGION && refuse) {
          refuse = false
          throw new Error('connection reset')
        }
        return shared.set(key, region, item)
      },
    }
    const writer = new CacheManager<unknown>({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), refusing] as CacheHandle<unknown>[],
      backplane: memoryBackplane({ hub }),
    })
    closers.push(() => writer.close())
    await Promise.all([writer.ready(), reader.ready()])
    await reader.set('u', 'untagged')
    await writer.set('k', 'v', { tags: ['t'] })
    let clears = 0
    reader.on('clear', () => clears++)
    const heard = nextEvent(reader, 'removeByTag', (e) => e.origin === 'remote')
    await expect(writer.removeByTag('t')).rejects.toThrow(/removeByTag failed/)
    await heard
    // The reader reads the tag's stamp again: the store has none, as before.
    expect(await reader.get('k')).toBe('v')
    expect(await writer.get('k')).toBe('v')
    // Before: the announced stamp counted as one the store holds, so finding none there was
    // taken for a clear this instance had missed: it dropped its memory and emitted a clear.
    expect(clears).toBe(0)
    await reader.set('k2', 'v2', { tags: ['t'] })
    expect(await writer.get('k2')).toBe('v2')
  })
})

describe('a removeByTag whose stamp write lands late', () => {
  it('is announced again once it can no longer land: no instance keeps judging by the old stamp', async () => {
    const { hub, shared, writer: reader } = sharedStoreWriter()
    const connection = orderedConnection(shared)
    const writer = new CacheManager<unknown>({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), connection.handle] as CacheHandle<unknown>[],
      backplane: memoryBackplane({ hub }),
    })
    closers.push(() => writer.close())
    writer.on('error', () => {})
    await Promise.all([writer.ready(), reader.ready()])
    await writer.set('k', 'v', { tags: ['t'] })
    expect(await reader.get('k')).toBe('v')
    connection.stall() // the stamp write fails at once and lands at resume()
    const heard = nextEvent(reader, 'removeByTag', (e) => e.origin === 'remote')
    await expect(writer.removeByTag('t')).rejects.toThrow(/removeByTag failed/)
    await heard
    // The store has no stamp yet: the reader, reading it again, still serves the item.
    expect(await reader.get('k')).toBe('v')
    connection.resume()
    await waitFor(() => writer.stats().unsettledWrites === 0, { message: 'the probe answered' })
    await quiesce([writer, reader])
    // Before: the reader kept judging by "no stamp" and served what removeByTag invalidated.
    expect(await reader.get('k')).toBeUndefined()
    expect(await writer.get('k')).toBeUndefined()
  })
})

describe('tags while the backplane is down', () => {
  it("bypassing local layers, a read judges store items by the store's stamps", async () => {
    const hub = createBackplaneHub()
    const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const make = (backplane: Backplane) =>
      new CacheManager<unknown>({
        name: 'c',
        handles: [memoryHandle({ name: 'memory' }), shared] as CacheHandle<unknown>[],
        shared: [shared],
        backplane,
      })
    const writer = make(memoryBackplane({ hub }))
    const chaos = chaosBackplane(memoryBackplane({ hub }))
    const reader = make(chaos)
    closers.push(
      () => writer.close(),
      () => reader.close(),
    )
    await Promise.all([writer.ready(), reader.ready()])
    await writer.set('k', 'v', { tags: ['t'] })
    expect(await reader.get('k')).toBe('v') // the reader has the stamp cached
    const gap = nextEvent(reader, 'backplane', (e) => e.type === 'gap')
    chaos.dropIncoming(true)
    chaos.setState('suspect')
    await gap
    expect(await reader.get('k')).toBe('v') // bypassing: read from the store
    await writer.removeByTag('t') // its message never reaches the reader
    expect(await reader.get('k')).toBeUndefined()
    expect(await reader.has('k')).toBe(false)
  })
})

describe('tag validation', () => {
  it('rejects bad tags with typed errors and writes nothing', async () => {
    const { a } = await two()
    const many = Array.from({ length: 65 }, (_, i) => `t${i}`)
    await expect(a.set('k', 'v', { tags: many })).rejects.toBeInstanceOf(InvalidOptionsError)
    await expect(a.set('k', 'v', { tags: [''] })).rejects.toBeInstanceOf(InvalidKeyError)
    await expect(a.set('k', 'v', { tags: [42 as unknown as string] })).rejects.toBeInstanceOf(InvalidKeyError)
    await expect(a.set('k', 'v', { tags: 'a' as unknown as string[] })).rejects.toBeInstanceOf(
      InvalidOptionsError,
    )
    await expect(a.getOrAdd('k', () => 'v', { tags: many })).rejects.toBeInstanceOf(InvalidOptionsError)
    expect(await a.get('k')).toBeUndefined()
    await expect(a.removeByTag([])).rejects.toBeInstanceOf(InvalidOptionsError)
    await expect(a.removeByTag('')).rejects.toBeInstanceOf(InvalidKeyError)
    // 64 tags, duplicates counted once, are fine.
    const sixtyFour = Array.from({ length: 64 }, (_, i) => `t${i}`)
    await a.set('k', 'v', { tags: [...sixtyFour, 't0'] })
    expect(await a.get('k')).toBe('v')
  })

  it('the region that holds the stamps is reserved', async () => {
    const { a } = await two()
    await expect(a.get('t', { region: '\u0000cacheplane-tags' })).rejects.toBeInstanceOf(InvalidKeyError)
    await expect(a.set('t', 1, { region: '\u0000x' })).rejects.toBeInstanceOf(InvalidKeyError)
  })
})
