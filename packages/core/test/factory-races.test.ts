// A getOrAdd factory that races a change of its key. The factory read its source before the
// change (the application updated the source, then removed or replaced the key, or invalidated
// a tag), so its result is older than the change and must not be cached over it: not by the
// foreground write, an eager refresh or a factory finishing after its soft timeout.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type CacheHandle,
  CacheManager,
  type GetOrAddOptions,
  createBackplaneHub,
  type ItemInput,
  jsonSerializer,
  memoryBackplane,
} from '../src/index.js'
import { cluster, type Cluster, nextEvent, quiesce, spyHandle } from './sync-fixtures.js'

const clusters: Cluster[] = []
afterEach(async () => {
  vi.useRealTimers()
  for (const c of clusters.splice(0)) await c.close()
})

/** What the shared store holds for `key`, decoded (it keeps the serialized bytes). */
async function inStore(shared: CacheHandle<unknown>, key: string): Promise<unknown> {
  const stored = await shared.get(key, undefined)
  return stored === undefined ? undefined : jsonSerializer.deserialize(stored.value as Uint8Array)
}

/** An item of `value` as another instance writes it to the shared store (its bytes, a 1 s lifetime). */
function itemOf(value: unknown): ItemInput {
  const now = Date.now()
  return {
    value: jsonSerializer.serialize(value),
    mode: 'absolute',
    ttl: 1_000,
    expiresAt: now + 1_000,
    created: now,
  }
}

async function twoInstances(): Promise<Cluster> {
  const c = await cluster(2)
  clusters.push(c)
  return c
}

/** A factory whose result the test releases; `called` resolves once it runs. */
function gatedFactory() {
  let release!: (value: unknown) => void
  let called!: () => void
  const gate = new Promise<unknown>((resolve) => {
    release = resolve
  })
  const started = new Promise<void>((resolve) => {
    called = resolve
  })
  const factory = () => {
    called()
    return gate
  }
  return { factory, started, release }
}

type Manager = CacheManager<unknown>

/**
 * `a`'s getOrAdd of `k`, whose factory returns `result` only once `change` ran and every
 * message was delivered; what the getOrAdd returned.
 */
async function loadAround(
  { managers }: Cluster,
  change: (a: Manager, b: Manager) => Promise<unknown>,
  result: unknown,
  options?: GetOrAddOptions,
): Promise<unknown> {
  const [a, b] = managers as [Manager, Manager]
  const load = gatedFactory()
  const loading = a.getOrAdd('k', load.factory, options)
  await load.started
  await change(a, b)
  await quiesce(managers)
  load.release(result)
  return loading
}

describe('a change of the key while its getOrAdd factory runs', () => {
  it('a remove by another instance: the callers get the result, no instance caches it', async () => {
    const c = await twoInstances()
    const [a, b] = c.managers as [Manager, Manager]
    // The application changed the source, then invalidated the key.
    expect(await loadAround(c, (_a, b) => b.remove('k'), 'old')).toBe('old')
    expect(await inStore(c.shared, 'k')).toBeUndefined()
    expect(await a.get('k')).toBeUndefined()
    expect(await b.get('k')).toBeUndefined()
  })

  it('a remove by the same instance: not cached either; the next getOrAdd loads again', async () => {
    const c = await twoInstances()
    const a = c.managers[0]!
    expect(await loadAround(c, (a) => a.remove('k'), 'old')).toBe('old')
    expect(await a.get('k')).toBeUndefined()
    expect(await a.getOrAdd('k', () => 'new')).toBe('new')
  })

  it('a removeByTag of one of its tags by another instance: its result is a miss everywhere', async () => {
    const c = await twoInstances()
    const [a, b] = c.managers as [Manager, Manager]
    await a.set('other', 'x', { tags: ['t'] }) // the tag has a stamp before the load starts
    expect(await loadAround(c, (_a, b) => b.removeByTag('t'), 'old', { tags: ['t'] })).toBe('old')
    expect(await a.get('k')).toBeUndefined()
    expect(await b.get('k')).toBeUndefined()
  })

  it("a racing getOrAdd on another instance wins: every caller gets the winner's value", async () => {
    const c = await twoInstances()
    const racing = (_a: Manager, b: Manager) => b.getOrAdd('k', () => 'from b')
    expect(await loadAround(c, racing, 'from a')).toBe('from b')
    expect(await c.managers[0]!.get('k')).toBe('from b')
  })

  it('a newer set by another instance: the callers get the newer value, which stays cached', async () => {
    const c = await twoInstances()
    expect(await loadAround(c, (_a, b) => b.set('k', 'new'), 'old')).toBe('new')
    expect(await c.managers[0]!.get('k')).toBe('new')
  })

  it('a write it does not change: its result is cached as before', async () => {
    const c = await twoInstances()
    const unrelated = async (_a: Manager, b: Manager) => {
      await b.set('other', 'x')
      await b.removeByTag('u')
    }
    expect(await loadAround(c, unrelated, 'loaded', { tags: ['t'] })).toBe('loaded')
    expect(await c.managers[1]!.get('k')).toBe('loaded')
  })
})

describe('an eager refresh that races a newer write', () => {
  const expiration = { mode: 'absolute', ttl: 1_000 } as const

  /** `k` written by `a`, then the clock past half its lifetime: the next getOrAdd hit refreshes it. */
  async function dueForRefresh(a: CacheManager<unknown>, written: 'set' | 'getOrAdd' = 'set') {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] })
    if (written === 'set') await a.set('k', 'v1', { expiration })
    else await a.getOrAdd('k', () => 'v1', { expiration })
    vi.setSystemTime(Date.now() + 600)
    const refresh = gatedFactory()
    const outcome = nextEvent(a, 'eagerRefresh', (e) => e.reason !== 'started')
    expect(await a.getOrAdd('k', refresh.factory, { eagerRefresh: 0.5, expiration })).toBe('v1')
    await refresh.started
    return { refresh, outcome }
  }

  it('a write heard meanwhile wins: the refresh is skipped', async () => {
    const { managers, shared } = await twoInstances()
    const [a, b] = managers as [CacheManager<unknown>, CacheManager<unknown>]
    const { refresh, outcome } = await dueForRefresh(a)
    await b.set('k', 'v2', { expiration })
    await quiesce(managers)
    refresh.release('v1, refreshed from the old source')
    expect((await outcome).reason).toBe('skipped')
    expect(await inStore(shared, 'k')).toBe('v2')
    expect(await a.get('k')).toBe('v2')
  })

  it('a write whose message has not arrived wins too: compare-and-set on the version refreshed', async () => {
    const { managers, shared } = await twoInstances()
    const a = managers[0]!
    const { refresh, outcome } = await dueForRefresh(a)
    // Another instance's write reached the store; its message is still on its way.
    await shared.set('k', undefined, itemOf('v2'))
    refresh.release('v1, refreshed from the old source')
    expect((await outcome).reason).toBe('skipped')
    expect(await inStore(shared, 'k')).toBe('v2')
  })

  it.each(['set', 'getOrAdd'] as const)(
    'no change meanwhile: the refresh is written (item written by %s)',
    async (written) => {
      const { managers, shared } = await twoInstances()
      const [a, b] = managers as [CacheManager<unknown>, CacheManager<unknown>]
      // Memory handles number versions from 1 each: a write elsewhere first, so that a copy
      // numbered by a's memory would not match the store's by chance.
      await b.set('other', 'x')
      const { refresh, outcome } = await dueForRefresh(a, written)
      refresh.release('v1, refreshed')
      expect((await outcome).reason).toBe('written')
      expect(await inStore(shared, 'k')).toBe('v1, refreshed')
      await quiesce(managers)
      expect(await b.get('k')).toBe('v1, refreshed')
    },
  )
})

describe('a factory finishing after its soft timeout', () => {
  it('does not replace a newer write whose message has not arrived', async () => {
    const inner = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
    const late = jsonSerializer.serialize('v1, late')
    const isLate = (item: ItemInput) => Buffer.from(item.value as Uint8Array).equals(late)
    let written!: () => void
    const backgroundWrite = new Promise<void>((resolve) => {
      written = resolve
    })
    // Resolves once the background completion reached the store, whatever it called.
    const shared = spyHandle(inner, {
      update: (k, r, v, i) => {
        const outcome = inner.update(k, r, v, i)
        if (isLate(i)) written()
        return outcome
      },
      set: (k, r, i) => {
        const version = inner.set(k, r, i)
        if (isLate(i)) written()
        return version
      },
    })
    const cache = new CacheManager<unknown>({
      name: 'users',
      handles: [memoryHandle({ name: 'memory' }), shared] as CacheHandle<unknown>[],
      shared: [shared],
      backplane: memoryBackplane({ hub: createBackplaneHub(), name: 'bp' }),
      expiration: { mode: 'absolute', ttl: 1_000 },
      grace: 60_000,
    })
    try {
      vi.useFakeTimers({ now: Date.now(), toFake: ['Date', 'setTimeout', 'clearTimeout'] })
      await cache.set('k', 'v1')
      vi.setSystemTime(Date.now() + 1_000) // past its expiry: only the graced value is left
      const load = gatedFactory()
      const timedOut = nextEvent(cache, 'factoryTimeout')
      const loading = cache.getOrAdd('k', load.factory, { softTimeoutMs: 20 })
      await load.started
      await vi.advanceTimersByTimeAsync(20)
      expect(await loading).toBe('v1')
      expect((await timedOut).reason).toBe('soft')
      await inner.set('k', undefined, itemOf('v2'))
      load.release('v1, late')
      await backgroundWrite
      expect(await inStore(inner, 'k')).toBe('v2')
    } finally {
      await cache.close()
      await inner.close()
    }
  })
})
