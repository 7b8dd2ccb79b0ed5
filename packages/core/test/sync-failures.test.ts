import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheHandle,
  CacheManager,
  type CacheManagerOptions,
  createBackplaneHub,
  HandleFailedError,
  memoryBackplane,
} from '../src/index.js'
import { waitFor } from '../src/testing/wait-for.js'
import { failingHandle, nextEvent, orderedConnection, quiesce, spyHandle } from './sync-fixtures.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

type ErrorPayload = {
  operation: string
  handle: string | undefined
  error: Error & { code: string; cause?: unknown }
}

async function withFailingShared(extra: Partial<CacheManagerOptions> = {}) {
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const dead = failingHandle(shared)
  const writer = new CacheManager({
    name: 'c',
    handles: [memoryHandle({ name: 'memory' }), shared] as CacheHandle<unknown>[],
    backplane: memoryBackplane({ hub }),
  })
  const cache = new CacheManager({
    name: 'c',
    handles: [memoryHandle({ name: 'memory' }), dead.handle],
    backplane: memoryBackplane({ hub }),
    ...extra,
  })
  closers.push(
    () => writer.close(),
    () => cache.close(),
  )
  await Promise.all([writer.ready(), cache.ready()])
  return { writer, cache, dead }
}

describe('a distributed handle that fails', () => {
  it('does not fail reads a local layer can answer; misses report the error as an event', async () => {
    const { writer, cache, dead } = await withFailingShared()
    await writer.set('warm', 1)
    await quiesce([writer, cache])
    expect(await cache.get('warm')).toBe(1) // copied into memory
    dead.state.failing = true
    const errors: ErrorPayload[] = []
    cache.on('error', (e) => errors.push(e as ErrorPayload))
    expect(await cache.get('warm')).toBe(1)
    expect(errors).toEqual([])
    expect(await cache.get('cold')).toBeUndefined()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ operation: 'get', handle: 'shared' })
    expect(errors[0]?.error).toBeInstanceOf(HandleFailedError)
    expect(errors[0]?.error.code).toBe('E_HANDLE_FAILED')
    expect((errors[0]!.error.cause as Error).message).toBe('connection refused')
    expect(cache.stats().handles.shared?.errors).toBe(1)
  })

  it('getOrAdd falls back to the factory; writes reject to the caller', async () => {
    const { cache, dead } = await withFailingShared()
    dead.state.failing = true
    cache.on('error', () => {})
    expect(await cache.getOrAdd('k', () => 'from-factory')).toBe('from-factory')
    await expect(cache.set('k', 1)).rejects.toMatchObject({ code: 'E_HANDLE_FAILED', source: 'shared' })
    await expect(cache.remove('k')).rejects.toBeInstanceOf(HandleFailedError)
    await expect(cache.update('k', (v) => v)).rejects.toBeInstanceOf(HandleFailedError)
  })

  it('a failed upper write after a successful bottom write rejects and leaves no stale upper copy', async () => {
    const memory = memoryHandle({ name: 'memory' })
    let failSet = false
    const top = spyHandle(memory, {
      set: (key, region, item) => {
        if (failSet) throw new Error('out of memory')
        return memory.set(key, region, item)
      },
    })
    const cache = new CacheManager({
      name: 'c',
      handles: [top, memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>],
    })
    closers.push(() => cache.close())
    cache.on('error', () => {})
    await cache.set('k', 'old')
    expect(memory.get('k', undefined)?.value).toBe('old')
    failSet = true
    await expect(cache.set('k', 'new')).rejects.toMatchObject({ source: 'memory' })
    expect(memory.get('k', undefined)).toBeUndefined() // the stale copy was dropped
    expect(await cache.get('k')).toBe('new')
  })

  it('the circuit opens after N failures (fast failures, no calls), then half-opens one probe', async () => {
    const { cache, dead } = await withFailingShared({
      circuitBreaker: { failureThreshold: 3, resetAfterMs: 30 },
    })
    const errors: ErrorPayload[] = []
    cache.on('error', (e) => errors.push(e as ErrorPayload))
    dead.state.failing = true
    for (let i = 0; i < 3; i++) expect(await cache.get(`k${i}`)).toBeUndefined()
    expect(dead.state.calls).toBe(3)
    expect(cache.stats().handles.shared?.circuit).toBe('open')
    expect(await cache.get('k9')).toBeUndefined()
    await expect(cache.set('k9', 1)).rejects.toMatchObject({ code: 'E_CIRCUIT_OPEN', source: 'shared' })
    expect(dead.state.calls).toBe(3) // failed fast: the store was not called
    expect(errors.at(-1)?.error.code).toBe('E_CIRCUIT_OPEN')
    // After resetAfterMs one probe goes through; while it fails the circuit re-opens.
    await waitFor(async () => {
      await cache.get('probe')
      return dead.state.calls === 4
    })
    expect(cache.stats().handles.shared?.circuit).toBe('open')
    dead.state.failing = false
    await waitFor(async () => {
      await cache.get('probe')
      return cache.stats().handles.shared?.circuit === 'closed'
    })
    await cache.set('k', 1)
    expect(await cache.get('k')).toBe(1)
  })

  it('a handle that throws corrupt-item errors does not trip the circuit', async () => {
    const { cache, dead } = await withFailingShared({
      circuitBreaker: { failureThreshold: 1, resetAfterMs: 60_000 },
    })
    const errors: ErrorPayload[] = []
    cache.on('error', (e) => errors.push(e as ErrorPayload))
    const { ItemCorruptError } = await import('../src/errors.js')
    const original = dead.handle.get
    dead.handle.get = async () => {
      throw new ItemCorruptError('bad envelope', { source: 'shared' })
    }
    expect(await cache.get('x')).toBeUndefined()
    expect(await cache.get('y')).toBeUndefined()
    expect(errors.map((e) => e.error.code)).toEqual(['E_ITEM_CORRUPT', 'E_ITEM_CORRUPT'])
    expect(cache.stats().handles.shared?.circuit).toBe('closed')
    dead.handle.get = original
  })

  it('a value the store refuses as too large reaches the caller typed and does not trip the circuit', async () => {
    const { cache, dead } = await withFailingShared({
      circuitBreaker: { failureThreshold: 1, resetAfterMs: 60_000 },
    })
    const { ValueTooLargeError } = await import('../src/errors.js')
    const original = dead.handle.set
    dead.handle.set = async () => {
      throw new ValueTooLargeError('value of 2 MiB exceeds 1 MiB', { source: 'shared' })
    }
    await expect(cache.set('big', 'x')).rejects.toBeInstanceOf(ValueTooLargeError)
    await expect(cache.set('big', 'x')).rejects.toBeInstanceOf(ValueTooLargeError)
    expect(cache.stats().handles.shared?.circuit).toBe('closed')
    dead.handle.set = original
    await cache.set('small', 'y')
    expect(await cache.get('small')).toBe('y')
  })
})

/** A writer reaching a shared store through `wrap(store)`, and a reader reaching it directly. */
async function writerAndReader(wrap: (shared: CacheHandle<unknown>) => CacheHandle<unknown>) {
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const open = (store: CacheHandle<unknown>) => {
    const cache = new CacheManager<string>({
      name: 'c',
      handles: [memoryHandle({ name: 'memory' }), store],
      backplane: memoryBackplane({ hub }),
    })
    closers.push(() => cache.close())
    cache.on('error', () => {})
    return cache
  }
  const writer = open(wrap(shared))
  const reader = open(shared)
  await Promise.all([writer.ready(), reader.ready()])
  return { writer, reader }
}

/** {@link writerAndReader}, the writer's store calls in order on one connection it can stall. */
async function twoInstances() {
  let connection: ReturnType<typeof orderedConnection> | undefined
  const pair = await writerAndReader((shared) => {
    connection = orderedConnection(shared)
    return connection.handle
  })
  return { ...pair, connection: connection! }
}

describe('a bottom write that fails', () => {
  it('a bottom write whose reply is lost after it landed leaves no instance serving the old value', async () => {
    let loseReplies = false
    const { writer, reader } = await writerAndReader((shared) =>
      spyHandle(shared, {
        capabilities: { ...shared.capabilities, synchronous: false },
        set: async (key, region, item) => {
          const version = await shared.set(key, region, item)
          if (loseReplies) throw new Error('connection reset') // the store applied it
          return version
        },
        update: async (key, region, expected, item) => {
          const outcome = await shared.update(key, region, expected, item)
          if (loseReplies) throw new Error('connection reset')
          return outcome
        },
      }),
    )
    await writer.set('k', 'old')
    await quiesce([writer, reader])
    expect(await reader.get('k')).toBe('old') // both hold 'old' in memory now
    loseReplies = true
    await expect(writer.set('k', 'new')).rejects.toBeInstanceOf(HandleFailedError)
    await quiesce([writer, reader])
    // Before: the writer kept 'old' in memory and announced nothing, so did the reader.
    expect(await writer.get('k')).toBe('new')
    expect(await reader.get('k')).toBe('new')
    await expect(writer.update('k', (v) => `${v}!`)).rejects.toBeInstanceOf(HandleFailedError)
    await quiesce([writer, reader])
    expect(await writer.get('k')).toBe('new!')
    expect(await reader.get('k')).toBe('new!')
  })

  it('a write the circuit refused never left: nothing is announced', async () => {
    const { cache, dead } = await withFailingShared({
      circuitBreaker: { failureThreshold: 1, resetAfterMs: 60_000 },
    })
    cache.on('error', () => {})
    dead.state.failing = true
    await expect(cache.set('k', 1)).rejects.toBeInstanceOf(HandleFailedError) // opens the circuit
    await cache.flush()
    const sent = cache.stats().backplane?.messagesSent ?? 0
    await expect(cache.set('k', 2)).rejects.toMatchObject({ code: 'E_CIRCUIT_OPEN' })
    await cache.flush()
    expect(cache.stats().backplane?.messagesSent).toBe(sent)
  })
})

describe('a failed write that lands late', () => {
  it('is announced again once a probe on its connection answered: no instance keeps what it replaced', async () => {
    const { writer, reader, connection } = await twoInstances()
    await writer.set('k', 'old')
    await quiesce([writer, reader])
    expect(await reader.get('k')).toBe('old')
    connection.stall()
    await expect(writer.set('k', 'new')).rejects.toBeInstanceOf(HandleFailedError)
    await quiesce([writer, reader])
    // The failure was announced; the store still holds 'old', and the reader copies it up again.
    expect(await reader.get('k')).toBe('old')
    expect(writer.stats().unsettledWrites).toBe(1)
    connection.resume() // the set lands, then the probe queued behind it answers
    await waitFor(() => writer.stats().unsettledWrites === 0, { message: 'the probe answered' })
    await quiesce([writer, reader])
    // Before: the reader served 'old' from memory for good (the store held 'new').
    expect(await reader.get('k')).toBe('new')
    expect(await writer.get('k')).toBe('new')
  })

  it('a remove that lands late is announced again too', async () => {
    const { writer, reader, connection } = await twoInstances()
    await writer.set('k', 'old')
    await quiesce([writer, reader])
    connection.stall()
    await expect(writer.remove('k')).rejects.toBeInstanceOf(HandleFailedError)
    await quiesce([writer, reader])
    expect(await reader.get('k')).toBe('old')
    connection.resume()
    await waitFor(() => writer.stats().unsettledWrites === 0, { message: 'the probe answered' })
    await quiesce([writer, reader])
    expect(await reader.get('k')).toBeUndefined()
  })

  it("a failed write's probes do not count against the circuit", async () => {
    const { cache, dead } = await withFailingShared({
      circuitBreaker: { failureThreshold: 2, resetAfterMs: 60_000 },
    })
    cache.on('error', () => {})
    dead.state.failing = true
    await expect(cache.set('k', 1)).rejects.toBeInstanceOf(HandleFailedError)
    // The write, then its probe and the probe's immediate retries: all failed, in a row, but
    // only the write counts: one failure of two.
    await waitFor(() => dead.state.calls >= 10, { message: 'the probes sent at once' })
    expect(cache.stats().handles.shared?.circuit).toBe('closed')
    expect(cache.stats().unsettledWrites).toBe(1)
    dead.state.failing = false
    await waitFor(() => cache.stats().unsettledWrites === 0, { message: 'a probe answered' })
  })
})

describe('a failed clear that lands late', () => {
  it("a clear that lands late is announced again once the handle's barrier answered", async () => {
    const { writer, reader, connection } = await twoInstances()
    await writer.set('k', 'old')
    await quiesce([writer, reader])
    connection.stall()
    await expect(writer.clear()).rejects.toBeInstanceOf(HandleFailedError)
    await quiesce([writer, reader])
    expect(await reader.get('k')).toBe('old') // the store still holds it: the clear is held
    connection.resume()
    await waitFor(() => writer.stats().unsettledWrites === 0, { message: 'the barrier answered' })
    await quiesce([writer, reader])
    expect(connection.barriers.count).toBe(1) // the probe of a clear, not a read of one key
    expect(await reader.get('k')).toBeUndefined()
  })
})

describe('serialization', () => {
  async function shared() {
    const store = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const memory = memoryHandle({ name: 'memory' })
    const cache = new CacheManager({ name: 'c', handles: [memory, store] })
    closers.push(() => cache.close())
    return { cache, memory, store }
  }

  it('an unserializable value is E_SERIALIZE and nothing is written anywhere', async () => {
    const { cache, memory, store } = await shared()
    await cache.set('k', { ok: 1 })
    await expect(cache.set('k', { n: 10n })).rejects.toMatchObject({ code: 'E_SERIALIZE' })
    await expect(cache.set('fresh', () => 1)).rejects.toMatchObject({ code: 'E_SERIALIZE' })
    await expect(cache.add('fresh', { n: 1n })).rejects.toMatchObject({ code: 'E_SERIALIZE' })
    expect(memory.get('k', undefined)?.value).toEqual({ ok: 1 })
    expect(await cache.get('k')).toEqual({ ok: 1 })
    expect(memory.get('fresh', undefined)).toBeUndefined()
    expect(await store.get('fresh', undefined)).toBeUndefined()
  })

  it('corrupt bytes in the distributed layer are a miss plus an error event, and getOrAdd replaces them', async () => {
    const { cache, store } = await shared()
    const now = Date.now()
    await store.set('k', undefined, {
      value: new Uint8Array([0xff, 0x00, 0x13]),
      mode: 'none',
      ttl: 0,
      expiresAt: 0,
      created: now,
    })
    const event = nextEvent(cache, 'error')
    expect(await cache.get('k')).toBeUndefined()
    expect(await event).toMatchObject({
      operation: 'get',
      handle: 'shared',
      error: { code: 'E_ITEM_CORRUPT' },
    })
    expect(cache.stats().handles.shared).toMatchObject({ errors: 1, misses: 1 })
    expect(await cache.getOrAdd('k', () => 'fresh')).toBe('fresh')
    expect(await cache.get('k')).toBe('fresh')
  })

  it('the memory layer keeps objects; the bytes layer gets serializer bytes', async () => {
    const { cache, memory, store } = await shared()
    const value = { a: [1, 2] }
    await cache.set('k', value)
    expect(memory.get('k', undefined)?.value).toBe(value)
    expect((await store.get('k', undefined))?.value).toBeInstanceOf(Uint8Array)
  })
})

describe('evictions', () => {
  it('a distributed handle that evicts drags the local copies above it along, with an evict event', async () => {
    const hub = createBackplaneHub()
    const shared = memoryHandle({ name: 'shared', distributed: true, maxEntries: 1 }) as CacheHandle<unknown>
    const memory = memoryHandle({ name: 'memory' })
    const cache = new CacheManager({
      name: 'c',
      handles: [memory, shared],
      backplane: memoryBackplane({ hub }),
    })
    closers.push(() => cache.close())
    // Subscribed first: a write made before the subscription is live is followed by a
    // local clear once it is (it may have missed invalidations), which is not this test.
    await cache.ready()
    await cache.set('first', 1)
    expect(memory.get('first', undefined)?.value).toBe(1)
    const evicted = nextEvent(cache, 'evict')
    await cache.set('second', 2) // the shared store holds one entry: 'first' goes
    expect(await evicted).toMatchObject({ key: 'first', reason: 'evicted', handle: 'shared', level: 1 })
    expect(memory.get('first', undefined)).toBeUndefined()
    expect(cache.stats().handles.shared?.evictions).toBe(1)
  })
})
