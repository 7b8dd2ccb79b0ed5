// Shared fixtures of the manager/sync tests: N managers over one in-process hub, a
// shared distributed-mode memory handle playing Redis, and small handle/backplane
// wrappers (fail on demand, hold reads) written here so these tests do not depend on
// the chaos helpers' exact API.
import { memoryHandle } from '@cacheplane/memory'
import type {
  Backplane,
  CacheEventName,
  CacheEvents,
  BackplaneListener,
  CacheHandle,
  CacheManagerOptions,
  ItemInput,
  StoredItem,
} from '../src/index.js'
import { CacheManager, createBackplaneHub, memoryBackplane } from '../src/index.js'
import type { BackplaneHub } from '../src/backplane/memory-backplane.js'

/** A cluster of managers sharing one distributed store and one hub. */
export interface Cluster {
  readonly hub: BackplaneHub
  readonly shared: CacheHandle<unknown>
  readonly managers: CacheManager<unknown>[]
  close(): Promise<void>
}

/** `n` managers named `name`, each with its own memory layer over one shared store (or memory-only). */
export async function cluster(
  n: number,
  options: { memoryOnly?: boolean; name?: string; extra?: Partial<CacheManagerOptions> } = {},
): Promise<Cluster> {
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const managers: CacheManager<unknown>[] = []
  for (let i = 0; i < n; i++) {
    const handles = options.memoryOnly
      ? [memoryHandle({ name: 'memory' })]
      : [memoryHandle({ name: 'memory' }), shared]
    managers.push(
      new CacheManager<unknown>({
        name: options.name ?? 'users',
        handles: handles as CacheHandle<unknown>[],
        shared: options.memoryOnly ? [] : [shared],
        backplane: memoryBackplane({ hub, name: `bp${i}` }),
        ...options.extra,
      }),
    )
  }
  await Promise.all(managers.map((m) => m.ready()))
  return {
    hub,
    shared,
    managers,
    // The store is shared, so no manager closes it: its creator does, last.
    close: () => Promise.all(managers.map((m) => m.close())).then(() => shared.close()),
  }
}

/** Resolves with the first `event` payload matching `match`, or rejects after `timeoutMs`. */
export function nextEvent<E extends CacheEventName>(
  manager: CacheManager<unknown>,
  event: E,
  match: (payload: CacheEvents[E]) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<CacheEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      manager.off(event, listener)
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (payload: CacheEvents[E]) => {
      if (!match(payload)) return
      clearTimeout(timer)
      manager.off(event, listener)
      resolve(payload)
    }
    manager.on(event, listener)
  })
}

/** A handle wrapper that fails every call while `failing` is true (a dead server). */
export function failingHandle(inner: CacheHandle<unknown>, name = inner.name) {
  const state = { failing: false, calls: 0 }
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    async (...args: A): Promise<Awaited<R>> => {
      state.calls++
      if (state.failing) throw new Error('connection refused')
      return await fn(...args)
    }
  const handle: CacheHandle<unknown> = {
    name,
    capabilities: { ...inner.capabilities, synchronous: false },
    get: wrap((k: string, r: string | undefined) => inner.get(k, r)),
    add: wrap((k: string, r: string | undefined, i: ItemInput) => inner.add(k, r, i)),
    set: wrap((k: string, r: string | undefined, i: ItemInput) => inner.set(k, r, i)),
    update: wrap((k: string, r: string | undefined, v: number, i: ItemInput) => inner.update(k, r, v, i)),
    remove: wrap((k: string, r: string | undefined) => inner.remove(k, r)),
    expire: wrap(
      (k: string, r: string | undefined, m: 'none' | 'absolute' | 'sliding', t: number, e: number) =>
        inner.expire(k, r, m, t, e),
    ),
    clear: wrap(() => inner.clear()),
    clearRegion: wrap((r: string) => inner.clearRegion(r)),
    close: () => inner.close(),
    bind: (n: string) => inner.bind?.(n),
  }
  return { handle, state }
}

/** A handle wrapper whose next `get` can be held until released (the fence test). */
export function holdableHandle(inner: CacheHandle<unknown>) {
  let held: { entered: () => void; gate: Promise<void> } | undefined
  const handle: CacheHandle<unknown> = {
    ...(inner as CacheHandle<unknown>),
    name: inner.name,
    capabilities: { ...inner.capabilities, synchronous: false },
    async get(key: string, region: string | undefined): Promise<StoredItem<unknown> | undefined> {
      const item = await inner.get(key, region)
      const hold = held
      held = undefined
      if (hold !== undefined) {
        hold.entered()
        await hold.gate
      }
      return item
    },
    add: (k, r, i) => inner.add(k, r, i),
    set: (k, r, i) => inner.set(k, r, i),
    update: (k, r, v, i) => inner.update(k, r, v, i),
    remove: (k, r) => inner.remove(k, r),
    expire: (k, r, m, t, e) => inner.expire(k, r, m, t, e),
    clear: () => inner.clear(),
    clearRegion: (r) => inner.clearRegion(r),
    close: () => inner.close(),
    bind: (n) => inner.bind?.(n),
  }
  /** Holds the next get after it read; resolves `entered` when it is held; call `release` to let it go. */
  const holdNextGet = () => {
    let release!: () => void
    let entered!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const reached = new Promise<void>((r) => {
      entered = r
    })
    held = { entered, gate }
    return { reached, release }
  }
  return { handle, holdNextGet }
}

/** A backplane wrapper whose next `failures` publishes reject. */
export function flakyBackplane(inner: Backplane, failures: number) {
  const state = { failuresLeft: failures, listener: undefined as BackplaneListener | undefined }
  const backplane: Backplane = {
    name: inner.name,
    capabilities: inner.capabilities,
    connect(channel, listener) {
      state.listener = listener
      const subscription = inner.connect(channel, listener)
      return {
        ready: subscription.ready,
        async publish(frame) {
          if (state.failuresLeft > 0) {
            state.failuresLeft--
            throw new Error('publish refused')
          }
          await subscription.publish(frame)
        },
        close: () => subscription.close(),
      }
    },
    close: () => inner.close(),
  }
  return { backplane, state }
}

/** A handle whose members can be replaced or spied on; everything else goes to `inner`. */
export function spyHandle(
  inner: CacheHandle<unknown>,
  overrides: Partial<CacheHandle<unknown>>,
): CacheHandle<unknown> {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop in overrides) return (overrides as Record<PropertyKey, unknown>)[prop]
      const value = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * Waits until every manager has published what it announced and received every message
 * the others sent: after it, no
 * invalidation is still in flight, so a read's copy-up cannot be undone by a late one.
 */
export async function quiesce(managers: readonly CacheManager<unknown>[]): Promise<void> {
  const { waitFor } = await import('../src/testing/wait-for.js')
  await Promise.all(managers.map((m) => m.flush()))
  await waitFor(
    () => {
      const sent = managers.map((m) => m.stats().backplane?.messagesSent ?? 0)
      const total = sent.reduce((a, b) => a + b, 0)
      return managers.every((m, i) => (m.stats().backplane?.messagesReceived ?? 0) >= total - sent[i]!)
    },
    { message: 'every message delivered' },
  )
}

/**
 * One ordered connection to `shared`, as ioredis has: calls run one after the other. While
 * `stalled`, every call waits; a `set`, `remove` or `clear` then fails at once, as one whose `commandTimeout`
 * fired, but stays queued and lands when the connection moves again (ioredis sends its
 * offline queue after a reconnect, and a slow server executes what its client gave up on).
 */
export function orderedConnection(shared: CacheHandle<unknown>) {
  let chain: Promise<unknown> = Promise.resolve()
  let gate: Promise<void> | undefined
  let release = () => {}
  const inOrder = <T>(call: () => T | Promise<T>): Promise<T> => {
    const run = chain.then(async () => {
      await gate
      return call()
    })
    chain = run.catch(() => undefined)
    return run
  }
  // A write: while stalled it fails at once and lands when the connection moves again.
  const write = <T>(call: () => T | Promise<T>): Promise<T> => {
    const landed = inOrder(call)
    if (gate === undefined) return landed
    landed.catch(() => undefined)
    return Promise.reject(new Error('Command timed out'))
  }
  const barriers = { count: 0 }
  const handle = spyHandle(shared, {
    capabilities: { ...shared.capabilities, synchronous: false },
    get: (key, region) => inOrder(() => shared.get(key, region)),
    peek: (key, region) => inOrder(() => shared.peek!(key, region)),
    set: (key, region, item) => write(() => shared.set(key, region, item)),
    remove: (key, region) => write(() => shared.remove(key, region)),
    clear: () => write(() => shared.clear()),
    barrier: () => {
      barriers.count++
      return inOrder(() => undefined)
    },
  })
  return {
    handle,
    barriers,
    stall: () => {
      gate = new Promise((resolve) => {
        release = resolve
      })
    },
    resume: () => {
      gate = undefined
      release()
    },
  }
}
