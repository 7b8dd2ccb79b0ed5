import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { type CacheHandle, CacheManager, createBackplaneHub, memoryBackplane } from '../src/index.js'
import { flakyBackplane, holdableHandle, nextEvent, quiesce, spyHandle } from './sync-fixtures.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

async function setup() {
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const writer = new CacheManager({
    name: 'c',
    handles: [memoryHandle({ name: 'memory' }), shared] as CacheHandle<unknown>[],
    shared: [shared],
    backplane: memoryBackplane({ hub }),
  })
  const held = holdableHandle(shared)
  const readerMemory = memoryHandle({ name: 'memory' })
  const transport = flakyBackplane(memoryBackplane({ hub }), 0)
  const reader = new CacheManager({
    name: 'c',
    handles: [readerMemory, held.handle],
    backplane: transport.backplane,
  })
  closers.push(
    () => writer.close(),
    () => reader.close(),
  )
  await Promise.all([writer.ready(), reader.ready()])
  return { writer, reader, readerMemory, held, transport }
}

describe('the read/invalidate fence', () => {
  it('a value read before a concurrent remote update is returned but not copied up', async () => {
    const { writer, reader, readerMemory, held } = await setup()
    await writer.set('k', 'old')
    await quiesce([writer, reader])
    const { reached, release } = held.holdNextGet()
    const read = reader.get('k')
    await reached // the lower read has the old value in hand
    const heard = nextEvent(reader, 'set')
    await writer.set('k', 'new')
    await heard // the invalidation arrived while the read was in flight
    release()
    expect(await read).toBe('old') // the value read is returned...
    expect(readerMemory.get('k', undefined)).toBeUndefined() // ...but not re-inserted above
    expect(reader.stats().handles.memory?.adds).toBe(0)
    expect(await reader.get('k')).toBe('new')
  })

  it('without an invalidation the lower hit is copied up with the source version and remaining lifetime', async () => {
    const { writer, reader, readerMemory, held } = await setup()
    await writer.set('k', 'v', { expiration: { mode: 'absolute', ttl: 60_000 } })
    await quiesce([writer, reader])
    const { reached, release } = held.holdNextGet()
    const read = reader.get('k')
    await reached
    release()
    expect(await read).toBe('v')
    const lower = await held.handle.get('k', undefined)
    const copy = readerMemory.get('k', undefined)
    expect(copy?.value).toBe('v')
    expect(copy?.version).toBe(lower?.version)
    expect(copy?.expiresAt).toBe(lower?.expiresAt)
    expect(copy?.mode).toBe('absolute')
  })

  it.each(['remove', 'clear', 'clearRegion'] as const)(
    'a local %s during the lower read blocks the copy-up',
    async (op) => {
      const { writer, reader, readerMemory, held } = await setup()
      await writer.set('k', 'old', { region: 'r' })
      const { reached, release } = held.holdNextGet()
      const read = reader.get('k', { region: 'r' })
      await reached
      if (op === 'remove') await reader.remove('k', { region: 'r' })
      if (op === 'clear') await reader.clear()
      if (op === 'clearRegion') await reader.clearRegion('r')
      // Put the value back below so only the fence can keep it out of memory.
      await writer.set('k', 'old', { region: 'r' })
      release()
      expect(await read).toBe('old')
      expect(readerMemory.get('k', 'r')).toBeUndefined()
    },
  )

  it('a gap during the lower read blocks the copy-up', async () => {
    const { writer, reader, readerMemory, held, transport } = await setup()
    await writer.set('k', 'old')
    await quiesce([writer, reader])
    const { reached, release } = held.holdNextGet()
    const read = reader.get('k')
    await reached
    transport.state.listener?.onGap({ reason: 'reconnect', recovered: false })
    release()
    await read
    expect(readerMemory.get('k', undefined)).toBeUndefined()
  })
})

describe('the fence with an asynchronous upper level', () => {
  it('a copy whose add lands after a remote invalidation is taken back out', async () => {
    const hub = createBackplaneHub()
    const shared = memoryHandle({ name: 'shared', distributed: true })
    const writer = new CacheManager({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), shared],
      shared: [shared],
      backplane: memoryBackplane({ hub }),
    })
    const upper = memoryHandle({ name: 'upper' })
    let release!: () => void
    let reached!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const addCalled = new Promise<void>((resolve) => {
      reached = resolve
    })
    const slowUpper = spyHandle(upper, {
      capabilities: { ...upper.capabilities, synchronous: false },
      add: async (key, region, item) => {
        reached()
        await gate // the add is still on its way to the store...
        return upper.add(key, region, item) // ...and lands after the invalidation
      },
    })
    const reader = new CacheManager({
      name: 'c',
      handles: [slowUpper, shared],
      shared: [shared],
      backplane: memoryBackplane({ hub }),
    })
    closers.push(
      () => writer.close(),
      () => reader.close(),
    )
    await Promise.all([writer.ready(), reader.ready()])
    await writer.set('k', 'old')
    await quiesce([writer, reader])
    const read = reader.get('k')
    await addCalled
    const heard = nextEvent(reader, 'set')
    await writer.set('k', 'new')
    await heard
    release()
    expect(await read).toBe('old')
    expect(upper.get('k', undefined)).toBeUndefined()
    expect(await reader.get('k')).toBe('new')
  })
})

describe('InvalidationFence', () => {
  it('tracks only keys with reads in flight and forgets them when the last read leaves', async () => {
    const { InvalidationFence } = await import('../src/invalidation-fence.js')
    const fence = new InvalidationFence()
    fence.invalidate('k') // no read in flight: nothing is tracked
    expect(fence.trackedKeys).toBe(0)
    const first = fence.enter('k')
    const second = fence.enter('k')
    const other = fence.enter('o')
    expect(fence.trackedKeys).toBe(2)
    fence.invalidate('k')
    expect(fence.isCurrent(first)).toBe(false)
    expect(fence.isCurrent(second)).toBe(false)
    expect(fence.isCurrent(other)).toBe(true)
    const late = fence.enter('k')
    expect(fence.isCurrent(late)).toBe(true) // taken after the invalidation
    fence.invalidateAll()
    expect(fence.isCurrent(other)).toBe(false)
    for (const ticket of [first, second, other, late]) fence.leave(ticket)
    expect(fence.trackedKeys).toBe(0)
  })
})
