// A backplane that delivers a frame only after the store applied a write sent before it
// (`Backplane.ordersAfter`: the Redis handle and backplane on one client) lets `set` announce
// as soon as its bottom write is sent. Here the store applies the write at once and its reply
// is held: the other instance hears of the change, and reads the new value, before the
// writer's `set` resolves; without the declaration it hears nothing until the reply.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type Backplane,
  type CacheHandle,
  CacheManager,
  createBackplaneHub,
  HandleFailedError,
  memoryBackplane,
} from '../src/index.js'
import { nextEvent, spyHandle } from './sync-fixtures.js'

const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** A store whose `set` and `remove` apply at once and answer when the test releases them (or fail, unapplied). */
function heldStore(shared: CacheHandle<unknown>) {
  let release: () => void = () => {}
  let fail = false
  /** `applied` at once, its answer held. */
  const held = <T>(applied: () => T): Promise<T> => {
    if (fail) return Promise.reject(new HandleFailedError('the store refused the write'))
    const answer = applied()
    return new Promise<T>((resolve) => {
      release = () => resolve(answer)
    })
  }
  const handle = spyHandle(shared, {
    capabilities: { ...shared.capabilities, synchronous: false },
    set: (key, region, item) => held(() => shared.set(key, region, item) as number),
    remove: (key, region) => held(() => shared.remove(key, region) as boolean),
  })
  return {
    handle,
    release: () => release(),
    failWrites: () => {
      fail = true
    },
  }
}

/**
 * A writer over `store` whose backplane declares (or not) that it orders after the store's
 * writes, and a reader with `v1` in its memory layer.
 */
async function writerAndReader(ordered: boolean) {
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const store = heldStore(shared)
  const asked: CacheHandle<unknown>[] = []
  const base = memoryBackplane({ hub, name: 'writer-bp' })
  const backplane: Backplane = ordered
    ? {
        ...base,
        ordersAfter: (handle) => {
          asked.push(handle)
          return handle === store.handle
        },
      }
    : base
  const writer = new CacheManager<unknown>({
    name: 'users',
    handles: [memoryHandle({ name: 'memory' }), store.handle],
    shared: [store.handle],
    backplane,
  })
  const reader = new CacheManager<unknown>({
    name: 'users',
    handles: [memoryHandle({ name: 'memory' }), shared],
    shared: [shared],
    backplane: memoryBackplane({ hub, name: 'reader-bp' }),
  })
  closers.push(
    async () => shared.close(),
    () => writer.close(),
    () => reader.close(),
  )
  await Promise.all([writer.ready(), reader.ready()])
  const heard = nextEvent(writer, 'set', (e) => e.origin === 'remote')
  await reader.set('k', 'v1')
  await heard
  return { writer, reader, store, asked }
}

describe('a set or remove announced with its bottom write (Backplane.ordersAfter)', () => {
  it('reaches the other instance before its reply: it drops its copy and reads the new value', async () => {
    const { writer, reader, store, asked } = await writerAndReader(true)
    expect(asked).toEqual([store.handle])
    const heard = nextEvent(reader, 'set', (e) => e.origin === 'remote' && e.key === 'k')
    const sent = writer.stats().backplane!.messagesSent
    const setting = writer.set('k', 'v2')
    await heard
    expect(await reader.get('k')).toBe('v2')
    store.release()
    await setting
    await writer.flush()
    // One message for the set, not one before the reply and one after.
    expect(writer.stats().backplane!.messagesSent).toBe(sent + 1)
    expect(writer.peek('k')).toBe('v2')
  })

  it('a remove too: the other instance drops its copy and finds nothing in the store', async () => {
    const { writer, reader, store } = await writerAndReader(true)
    const heard = nextEvent(reader, 'remove', (e) => e.origin === 'remote' && e.key === 'k')
    const removing = writer.remove('k')
    await heard
    expect(reader.peek('k')).toBeUndefined()
    expect(await reader.get('k')).toBeUndefined()
    store.release()
    expect(await removing).toBe(true)
  })

  it('without the declaration, nothing is announced before the reply', async () => {
    const { writer, reader, store } = await writerAndReader(false)
    const sent = writer.stats().backplane!.messagesSent
    const setting = writer.set('k', 'v2')
    await writer.flush()
    expect(writer.stats().backplane!.messagesSent).toBe(sent)
    expect(reader.peek('k')).toBe('v1')
    const heard = nextEvent(reader, 'set', (e) => e.origin === 'remote' && e.key === 'k')
    store.release()
    await setting
    await heard
    expect(await reader.get('k')).toBe('v2')
  })

  it('a write that fails was still announced: the other instance reads the store again, which kept v1', async () => {
    const { writer, reader, store } = await writerAndReader(true)
    store.failWrites()
    const heard = nextEvent(reader, 'set', (e) => e.origin === 'remote' && e.key === 'k')
    await expect(writer.set('k', 'v2')).rejects.toBeInstanceOf(HandleFailedError)
    await heard
    expect(reader.peek('k')).toBeUndefined()
    expect(await reader.get('k')).toBe('v1')
    expect(await writer.get('k')).toBe('v1')
  })
})

describe('Backplane.ordersAfter, as core asks it', () => {
  it('a synchronous bottom is never asked (its write has landed before anything is announced)', async () => {
    const hub = createBackplaneHub()
    const asked: CacheHandle<unknown>[] = []
    const base = memoryBackplane({ hub })
    const only = new CacheManager<unknown>({
      name: 'users',
      handles: [memoryHandle()],
      backplane: { ...base, ordersAfter: (handle) => asked.push(handle) > 0 },
    })
    closers.push(() => only.close())
    await only.ready()
    await only.set('k', 'v')
    expect(asked).toEqual([])
  })
})
