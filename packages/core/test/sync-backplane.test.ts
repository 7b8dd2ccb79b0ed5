import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import { type CacheHandle, CacheManager, createBackplaneHub, memoryBackplane } from '../src/index.js'
import { waitFor } from '../src/testing/wait-for.js'
import { flakyBackplane, nextEvent, quiesce } from './sync-fixtures.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

/** A writer whose backplane can fail, and a reader, over one shared store. */
async function pair(options: { failures?: number; maxQueue?: number; gapPolicy?: 'clear' | 'keep' } = {}) {
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const flaky = flakyBackplane(memoryBackplane({ hub }), options.failures ?? 0)
  const writer = new CacheManager({
    name: 'c',
    handles: [memoryHandle({ name: 'memory' }), shared] as CacheHandle<unknown>[],
    shared: [shared],
    backplane: flaky.backplane,
    retry: { baseDelayMs: 1, maxDelayMs: 4 },
    maxQueue: options.maxQueue ?? 10_000,
  })
  const readerTransport = flakyBackplane(memoryBackplane({ hub }), 0)
  const readerMemory = memoryHandle({ name: 'memory' })
  const reader = new CacheManager({
    name: 'c',
    handles: [readerMemory, shared],
    shared: [shared],
    backplane: readerTransport.backplane,
    gapPolicy: options.gapPolicy,
  })
  closers.push(
    () => writer.close(),
    () => reader.close(),
  )
  await Promise.all([writer.ready(), reader.ready()])
  return { writer, reader, readerMemory, flaky, readerTransport }
}

describe('gaps', () => {
  it('a gap clears local handles (never the shared one) and emits a backplane event', async () => {
    const { writer, reader, readerMemory, readerTransport } = await pair()
    await writer.set('a', 1)
    await writer.set('b', 2, { region: 'r' })
    await quiesce([writer, reader])
    expect(await reader.get('a')).toBe(1)
    expect(await reader.get('b', { region: 'r' })).toBe(2)
    const event = nextEvent(reader, 'backplane', (e) => e.type === 'gap')
    readerTransport.state.listener?.onGap({ reason: 'reconnect', recovered: false })
    expect(await event).toMatchObject({ type: 'gap', action: 'cleared', gap: { reason: 'reconnect' } })
    expect(readerMemory.get('a', undefined)).toBeUndefined()
    expect(readerMemory.get('b', 'r')).toBeUndefined()
    expect(await reader.get('a')).toBe(1) // the shared level was not touched
    expect(reader.stats().backplane?.gaps).toBe(1)
  })

  it('an unrecovered gap makes distributed handles re-read their store state (onRemoteClear)', async () => {
    const hub = createBackplaneHub()
    const shared = memoryHandle({ name: 'shared', distributed: true })
    const heard: Array<string | undefined> = []
    const transport = flakyBackplane(memoryBackplane({ hub }), 0)
    const cache = new CacheManager({
      name: 'c',
      handles: [
        memoryHandle({ name: 'memory' }),
        Object.assign(shared, { onRemoteClear: (r?: string) => void heard.push(r) }),
      ],
      backplane: transport.backplane,
    })
    closers.push(() => cache.close())
    await cache.ready()
    transport.state.listener?.onGap({ reason: 'reconnect', recovered: true })
    transport.state.listener?.onGap({ reason: 'reconnect', recovered: false })
    await waitFor(() => heard.length === 1)
    expect(heard).toEqual([undefined]) // only the unrecovered gap: a replay delivered any clear itself
  })

  it('a recovered gap keeps local handles', async () => {
    const { writer, reader, readerMemory, readerTransport } = await pair()
    await writer.set('a', 1)
    await quiesce([writer, reader])
    expect(await reader.get('a')).toBe(1)
    const event = nextEvent(reader, 'backplane', (e) => 'gap' in e)
    readerTransport.state.listener?.onGap({ reason: 'resubscribe', recovered: true })
    expect(await event).toMatchObject({ action: 'kept' })
    expect(readerMemory.get('a', undefined)?.value).toBe(1)
  })

  it("gapPolicy 'keep' keeps local handles", async () => {
    const { writer, reader, readerMemory, readerTransport } = await pair({ gapPolicy: 'keep' })
    await writer.set('a', 1)
    await quiesce([writer, reader])
    await reader.get('a')
    const event = nextEvent(reader, 'backplane', (e) => 'gap' in e)
    readerTransport.state.listener?.onGap({ reason: 'reconnect', recovered: false })
    expect(await event).toMatchObject({ action: 'kept' })
    expect(readerMemory.get('a', undefined)?.value).toBe(1)
  })

  it('a gapPolicy function decides per gap', async () => {
    const hub = createBackplaneHub()
    const transport = flakyBackplane(memoryBackplane({ hub }), 0)
    const memory = memoryHandle({ name: 'memory' })
    const seen: string[] = []
    const cache = new CacheManager({
      name: 'c',
      handles: [memory],
      backplane: transport.backplane,
      gapPolicy: (gap) => {
        seen.push(gap.reason)
        return gap.reason === 'failover' ? 'clear' : 'keep'
      },
    })
    closers.push(() => cache.close())
    await cache.ready()
    await cache.set('a', 1)
    transport.state.listener?.onGap({ reason: 'resubscribe', recovered: false })
    await waitFor(() => seen.length === 1)
    expect(memory.get('a', undefined)?.value).toBe(1)
    const event = nextEvent(cache, 'backplane', (e) => 'gap' in e)
    transport.state.listener?.onGap({ reason: 'failover', recovered: false })
    expect(await event).toMatchObject({ action: 'cleared' })
    expect(memory.get('a', undefined)).toBeUndefined()
  })

  it('state changes are emitted as backplane events', async () => {
    const { reader, readerTransport } = await pair()
    const event = nextEvent(reader, 'backplane', (e) => e.type === 'state')
    readerTransport.state.listener?.onState('disconnected')
    expect(await event).toEqual({ type: 'state', state: 'disconnected' })
  })
})

describe('outbound failures', () => {
  it('failed publishes are retried and no invalidation is lost', async () => {
    const { writer, reader, readerMemory, flaky } = await pair({ failures: 3 })
    for (const key of ['a', 'b', 'c']) await writer.set(key, 1)
    await quiesce([writer, reader])
    for (const key of ['a', 'b', 'c']) expect(await reader.get(key)).toBe(1)
    flaky.state.failuresLeft = 3
    for (const key of ['a', 'b', 'c']) await writer.set(key, 2)
    await waitFor(() => ['a', 'b', 'c'].every((k) => readerMemory.get(k, undefined) === undefined), {
      message: 'every key evicted at the reader',
    })
    for (const key of ['a', 'b', 'c']) expect(await reader.get(key)).toBe(2)
    expect(writer.stats().backplane?.retried).toBeGreaterThanOrEqual(3)
    expect(writer.stats().backplane?.publishFailures).toBeGreaterThanOrEqual(3)
  })

  it('queue overflow degrades to one cleared message that evicts everything remotely', async () => {
    const { writer, reader, readerMemory, flaky } = await pair({ maxQueue: 2 })
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'untouched']
    for (const key of keys) await writer.set(key, 1)
    await quiesce([writer, reader])
    for (const key of keys) expect(await reader.get(key)).toBe(1)
    flaky.state.failuresLeft = 1_000_000 // the transport is down while we write
    for (const key of keys.slice(0, 5)) await writer.set(key, 2)
    await waitFor(() => (writer.stats().backplane?.overflows ?? 0) >= 1)
    const cleared = nextEvent(reader, 'clear')
    flaky.state.failuresLeft = 0
    expect((await cleared).origin).toBe('remote')
    for (const key of keys) expect(readerMemory.get(key, undefined)).toBeUndefined()
    expect(await reader.get('k5')).toBe(2)
    expect(await reader.get('untouched')).toBe(1)
  })

  it('close() flushes what is queued before closing the transport', async () => {
    const { writer, reader, flaky } = await pair()
    await writer.set('k', 1)
    await quiesce([writer, reader])
    expect(await reader.get('k')).toBe(1)
    flaky.state.failuresLeft = 2
    const heard = nextEvent(reader, 'remove')
    await writer.remove('k')
    await writer.close()
    expect((await heard).origin).toBe('remote')
  })
})

describe('start-up', () => {
  it('calls made before the backplane subscribed count as a gap once it does', async () => {
    const hub = createBackplaneHub()
    const inner = memoryBackplane({ hub })
    let connect!: () => void
    const gate = new Promise<void>((resolve) => {
      connect = resolve
    })
    const slow = { ...inner, name: inner.name, capabilities: inner.capabilities }
    slow.connect = (channel, listener) => {
      const subscription = inner.connect(channel, listener)
      return { ...subscription, ready: gate.then(() => subscription.ready) }
    }
    const memory = memoryHandle({ name: 'memory' })
    const cache = new CacheManager({ name: 'c', handles: [memory], backplane: slow })
    closers.push(() => cache.close())
    await cache.set('early', 1) // not subscribed yet: a change elsewhere now would be missed
    const event = nextEvent(cache, 'backplane', (e) => e.type === 'gap')
    connect()
    expect(await event).toMatchObject({ action: 'cleared', gap: { reason: 'connect' } })
    expect(memory.get('early', undefined)).toBeUndefined()
    await cache.set('late', 1)
    expect(memory.get('late', undefined)?.value).toBe(1)
  })
})
