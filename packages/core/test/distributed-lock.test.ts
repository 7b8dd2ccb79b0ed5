// getOrAdd's `distributedLock` (issue 14) over managers sharing one distributed-mode memory
// handle (its lock plays Redis's) and one in-process hub: a single factory call per key,
// waiters woken by the winner's message (not their timer), the fallback check for a lost
// message, takeover after a crashed holder's lock TTL, and the in-process fallbacks (store
// down, no lock) with their events. Real timers, short lock TTLs.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheEvents,
  type CacheHandle,
  CacheManager,
  type CacheManagerOptions,
  createBackplaneHub,
  errors,
  type HandleLock,
  memoryBackplane,
} from '../src/index.js'
import { waitFor } from '../src/testing/index.js'

type LockEvent = CacheEvents['distributedLock']

const open: Array<{ close(): unknown }> = []
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close()
})

/** `n` managers over one shared store, each on the hub given (default: one shared hub). */
function managers(
  n: number,
  shared: CacheHandle<unknown>,
  extra: Partial<CacheManagerOptions> = {},
  hubs = Array.from({ length: n }, () => sharedHub),
): { caches: CacheManager<unknown>[]; events: LockEvent[][] } {
  const caches: CacheManager<unknown>[] = []
  const events: LockEvent[][] = []
  for (let i = 0; i < n; i++) {
    const cache = new CacheManager<unknown>({
      name: 'lock',
      handles: [memoryHandle({ name: 'memory' }) as CacheHandle<unknown>, shared],
      shared: [shared],
      backplane: memoryBackplane({ hub: hubs[i]!, name: `bp${i}` }),
      ...extra,
    })
    const seen: LockEvent[] = []
    cache.on('distributedLock', (event) => seen.push(event))
    caches.push(cache)
    events.push(seen)
    open.push(cache)
  }
  return { caches, events }
}

let sharedHub = createBackplaneHub()
afterEach(() => {
  sharedHub = createBackplaneHub()
})

function store(): CacheHandle<unknown> & { lock: HandleLock } {
  const handle = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown> & {
    lock: HandleLock
  }
  open.unshift(handle) // closed after the managers that share it
  return handle
}

/** Counts refused acquires, so a test knows the others are waiting before the factory ends. */
function countRefusals(handle: { lock: HandleLock }): { refused: number } {
  const counter = { refused: 0 }
  const lock = handle.lock
  const acquire = lock.acquire.bind(lock)
  lock.acquire = (key, region, owner, ttlMs) => {
    const taken = acquire(key, region, owner, ttlMs) as boolean
    if (!taken) counter.refused++
    return taken
  }
  return counter
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

describe('distributedLock', () => {
  it('runs one factory for the whole cluster; the waiters are woken by its message', async () => {
    const shared = store()
    const refusals = countRefusals(shared)
    // A check interval far beyond the test: only a message can wake a waiter in time.
    const { caches, events } = managers(4, shared, {
      distributedLock: { ttlMs: 60_000, checkIntervalMs: 60_000 },
    })
    const gate = deferred<string>()
    let calls = 0
    const factory = () => {
      calls++
      return gate.promise
    }
    const results = caches.flatMap((cache) =>
      Array.from({ length: 10 }, () => cache.getOrAdd('cold', factory)),
    )
    await waitFor(() => refusals.refused >= 3, { message: 'the three other managers waiting' })
    await nextTurn()
    gate.resolve('loaded')
    expect(await Promise.all(results)).toEqual(Array(40).fill('loaded'))
    expect(calls).toBe(1)
    const woken = events.flat().filter((e) => e.type === 'woken')
    expect(woken).toHaveLength(3)
    for (const event of woken) expect(event).toMatchObject({ type: 'woken', key: 'cold', reason: 'message' })
  })

  it('wakes a waiter by its fallback check when the message is lost', async () => {
    const shared = store()
    const refusals = countRefusals(shared)
    // The second manager is on a hub of its own: it never hears the first one's frames.
    const { caches, events } = managers(
      2,
      shared,
      { distributedLock: { ttlMs: 60_000, checkIntervalMs: 100 } },
      [sharedHub, createBackplaneHub()],
    )
    const gate = deferred<string>()
    let calls = 0
    const factory = () => {
      calls++
      return gate.promise
    }
    const first = caches[0]!.getOrAdd('k', factory)
    await waitFor(() => calls === 1)
    const second = caches[1]!.getOrAdd('k', factory)
    await waitFor(() => refusals.refused >= 1)
    gate.resolve('v')
    expect(await Promise.all([first, second])).toEqual(['v', 'v'])
    expect(calls).toBe(1)
    expect(events[1]).toEqual([expect.objectContaining({ type: 'woken', reason: 'check' })])
  })

  it('lets exactly one waiter take over once a crashed holder’s lock expires', async () => {
    const shared = store()
    // A holder that died without releasing (SIGKILL): its lock only expires.
    const ttlMs = 300
    expect(shared.lock.acquire('k', undefined, 'dead-owner', ttlMs)).toBe(true)
    const since = Date.now()
    const { caches, events } = managers(3, shared, { distributedLock: { ttlMs, checkIntervalMs: 50 } })
    let calls = 0
    const factory = async () => {
      calls++
      await new Promise((resolve) => setTimeout(resolve, 50))
      return 'recovered'
    }
    const results = await Promise.all(caches.map((cache) => cache.getOrAdd('k', factory)))
    expect(results).toEqual(['recovered', 'recovered', 'recovered'])
    expect(calls).toBe(1)
    const takeovers = events.flat().filter((e) => e.type === 'takeover')
    expect(takeovers).toHaveLength(1)
    expect(Date.now() - since).toBeGreaterThanOrEqual(ttlMs)
    expect(events.flat().filter((e) => e.type === 'woken')).toHaveLength(2)
  })

  it('wakes a waiter on a local write of the key in its own process', async () => {
    const shared = store()
    shared.lock.acquire('k', undefined, 'other-instance', 60_000)
    const { caches, events } = managers(1, shared, {
      distributedLock: { ttlMs: 60_000, checkIntervalMs: 60_000 },
    })
    const refusals = countRefusals(shared)
    const waiting = caches[0]!.getOrAdd('k', () => 'never')
    await waitFor(() => refusals.refused >= 1)
    await nextTurn()
    await caches[0]!.set('k', 'written')
    expect(await waiting).toBe('written')
    expect(events[0]).toEqual([expect.objectContaining({ type: 'woken', reason: 'local-write' })])
  })

  it('wakes a waiter when its own process’s timed-out factory writes in the background', async () => {
    const shared = store()
    const { caches, events } = managers(1, shared, {
      distributedLock: { ttlMs: 60_000, checkIntervalMs: 60_000 },
    })
    const gate = deferred<string>()
    let calls = 0
    const factory = () => {
      calls++
      return gate.promise
    }
    await expect(caches[0]!.getOrAdd('k', factory, { hardTimeoutMs: 30 })).rejects.toBeInstanceOf(
      errors.E_FACTORY_TIMEOUT,
    )
    // The timed-out run goes on in the background and still holds the lock: this call waits for it.
    const second = caches[0]!.getOrAdd('k', factory)
    await nextTurn()
    gate.resolve('late')
    expect(await second).toBe('late')
    expect(calls).toBe(1)
    expect(events[0]).toEqual([expect.objectContaining({ type: 'woken', reason: 'local-write' })])
  })

  it('bounds a wait by the hard timeout', async () => {
    const shared = store()
    shared.lock.acquire('k', undefined, 'slow-instance', 60_000)
    const { caches } = managers(1, shared, { distributedLock: { ttlMs: 60_000, checkIntervalMs: 60_000 } })
    const timedOut = new Promise((resolve) => caches[0]!.on('factoryTimeout', resolve))
    await expect(caches[0]!.getOrAdd('k', () => 'never', { hardTimeoutMs: 100 })).rejects.toBeInstanceOf(
      errors.E_FACTORY_TIMEOUT,
    )
    expect(await timedOut).toMatchObject({ key: 'k', reason: 'hard' })
  })

  it('keeps the lock through a soft timeout until the background completion has written', async () => {
    const shared = store()
    const { caches } = managers(2, shared, {
      distributedLock: { ttlMs: 60_000, checkIntervalMs: 60_000 },
      expiration: { mode: 'absolute', ttl: 50 },
      grace: 60_000,
    })
    await caches[0]!.set('k', 'old')
    await waitFor(async () => (await caches[0]!.get('k')) === undefined, { message: 'the item to expire' })
    const gate = deferred<string>()
    let calls = 0
    const factory = () => {
      calls++
      return gate.promise
    }
    expect(await caches[0]!.getOrAdd('k', factory, { softTimeoutMs: 20 })).toBe('old')
    // The first manager's factory goes on in the background, under the lock: no second run.
    const second = caches[1]!.getOrAdd('k', factory)
    await nextTurn()
    gate.resolve('new')
    expect(await second).toBe('new')
    expect(calls).toBe(1)
  })

  it('falls back to in-process coalescing with an event when the store fails to lock', async () => {
    const shared = store()
    const broken: CacheHandle<unknown> = Object.assign(Object.create(shared) as CacheHandle<unknown>, {
      lock: {
        acquire: () => Promise.reject(new Error('connection refused')),
        release: () => Promise.resolve(false),
      },
    })
    const { caches, events } = managers(2, broken, { distributedLock: true })
    const errorEvents: unknown[] = []
    caches[0]!.on('error', (event) => errorEvents.push(event))
    let calls = 0
    const factory = async () => {
      calls++
      return 'own'
    }
    const results = await Promise.all(
      caches.flatMap((cache) => [cache.getOrAdd('k', factory), cache.getOrAdd('k', factory)]),
    )
    expect(results).toEqual(['own', 'own', 'own', 'own'])
    expect(calls).toBe(2) // one per process: in-process coalescing still holds
    for (const seen of events)
      expect(seen).toEqual([expect.objectContaining({ type: 'unavailable', key: 'k' })])
    expect(errorEvents).toEqual([expect.objectContaining({ operation: 'lock' })])
  })

  it('says once that a handle without a lock coalesces in-process only', async () => {
    const shared = store()
    const lockless: CacheHandle<unknown> = Object.assign(Object.create(shared) as CacheHandle<unknown>, {
      lock: undefined,
    })
    const { caches, events } = managers(1, lockless, { distributedLock: true })
    expect(await caches[0]!.getOrAdd('a', () => 1)).toBe(1)
    expect(await caches[0]!.getOrAdd('b', () => 2)).toBe(2)
    expect(events[0]).toEqual([{ type: 'unsupported', handle: 'shared', reason: 'no-lock' }])
  })

  it('takes a per-call override and rejects bad options', async () => {
    const shared = store()
    const refusals = countRefusals(shared)
    const { caches } = managers(1, shared)
    shared.lock.acquire('k', undefined, 'other-instance', 60_000)
    const waiting = caches[0]!.getOrAdd('k', () => 'mine', {
      distributedLock: { ttlMs: 60_000, checkIntervalMs: 60_000 },
    })
    await waitFor(() => refusals.refused >= 1)
    // Without the override, the manager's default (off) runs the factory at once.
    expect(await caches[0]!.getOrAdd('other', () => 'unlocked')).toBe('unlocked')
    await caches[0]!.set('k', 'set')
    expect(await waiting).toBe('set')
    expect(() => managers(1, shared, { distributedLock: { ttlMs: -1 } })).toThrow(errors.E_INVALID_OPTIONS)
    await expect(
      caches[0]!.getOrAdd('x', () => 1, { distributedLock: { checkIntervalMs: 0 } }),
    ).rejects.toBeInstanceOf(errors.E_INVALID_OPTIONS)
  })
})

describe('lock keys', () => {
  it('never equal an item key of any cache name, region or key', async () => {
    const { lockKeyPrefix, storeKey, cacheKeyPrefix } = await import('../src/index.js')
    const lock = storeKey(lockKeyPrefix('p:', 'users'), undefined, 'k')
    expect(lock).toBe('p:%lock:users::k')
    // The closest an item key can come: a cache named '%lock' is escaped.
    expect(cacheKeyPrefix('p:', '%lock')).toBe('p:%25lock:')
    expect(storeKey(cacheKeyPrefix('p:', '%lock:users'), undefined, 'k')).not.toBe(lock)
  })
})
