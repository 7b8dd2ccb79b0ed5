/**
 * A CacheHandle wrapper that injects faults: failures, latency, and reads held until a
 * test releases them (which makes races such as the read/invalidate fence deterministic).
 * The wrapper keeps the wrapped handle's name and capabilities, except that it is always
 * asynchronous (`synchronous: false`): delays and holds need promises.
 */
import type {
  CacheHandle,
  ExpirationMode,
  HandleCapabilities,
  ItemInput,
  MaybePromise,
  StoredItem,
  UpdateOutcome,
} from '../contracts/cache-handle.js'

/** Handle operations the chaos wrapper can disturb (`bind`, `onEvict`, `onExternalClear` and `close` pass straight through). */
export type ChaosOperation =
  | 'get'
  | 'getMany'
  | 'setMany'
  | 'removeMany'
  | 'add'
  | 'set'
  | 'update'
  | 'remove'
  | 'expire'
  | 'touch'
  | 'peek'
  | 'clear'
  | 'clearRegion'
  | 'onRemoteClear'

/** Options of {@link chaosHandle}. */
export interface ChaosHandleOptions {
  /** Only these operations are disturbed; default all of them. */
  readonly ops?: readonly ChaosOperation[]
}

/** The fault controls of a chaos handle. */
export interface ChaosHandleControls {
  /** The next `n` disturbed calls (default 1) reject with `error` (default a fresh Error). */
  failNext(n?: number, error?: unknown): void
  /** While on (default true), every disturbed call rejects with `error` (default a fresh Error). */
  failAlways(on?: boolean, error?: unknown): void
  /** Every disturbed call waits `ms` before it reaches the wrapped handle; 0 turns it off. */
  delay(ms: number): void
  /**
   * Holds the results of calls (of `ops`, default all disturbed ones) until the returned
   * function is called: the wrapped handle has already answered, the caller just does not
   * hear it yet. Calls that finish while the hold is on wait; releasing twice is harmless.
   */
  hold(ops?: readonly ChaosOperation[]): () => void
  /** Number of calls currently waiting on a hold (wait for it to know a read is in flight). */
  readonly held: number
  /** Number of disturbed calls made so far, failed or not. */
  readonly calls: number
  /** The wrapped handle. */
  readonly inner: CacheHandle
}

/** A CacheHandle with fault controls; its data operations always return promises. */
export interface ChaosHandle<V = unknown> extends CacheHandle<V>, ChaosHandleControls {
  /** See {@link CacheHandle.get}. */
  get(key: string, region: string | undefined): Promise<StoredItem<V> | undefined>
  /** See {@link CacheHandle.add}. */
  add(key: string, region: string | undefined, item: ItemInput<V>): Promise<boolean>
  /** See {@link CacheHandle.set}. */
  set(key: string, region: string | undefined, item: ItemInput<V>): Promise<number>
  /** See {@link CacheHandle.update}. */
  update(
    key: string,
    region: string | undefined,
    expectedVersion: number,
    item: ItemInput<V>,
  ): Promise<UpdateOutcome>
  /** See {@link CacheHandle.remove}. */
  remove(key: string, region: string | undefined): Promise<boolean>
  /** See {@link CacheHandle.expire}. */
  expire(
    key: string,
    region: string | undefined,
    mode: ExpirationMode,
    ttl: number,
    expiresAt: number,
  ): Promise<boolean>
  /** See {@link CacheHandle.clear}. */
  clear(): Promise<void>
  /** See {@link CacheHandle.clearRegion}. */
  clearRegion(region: string): Promise<void>
}

interface Hold {
  readonly ops: ReadonlySet<ChaosOperation> | undefined
  readonly released: Promise<void>
}

/** Wraps `handle` in fault controls (see {@link ChaosHandleControls}). */
export function chaosHandle<V>(handle: CacheHandle<V>, options: ChaosHandleOptions = {}): ChaosHandle<V> {
  const disturbed = options.ops === undefined ? undefined : new Set(options.ops)
  let pendingFailures = 0
  let pendingError: unknown
  let always = false
  let alwaysError: unknown
  let delayMs = 0
  let held = 0
  let calls = 0
  const holds = new Set<Hold>()

  const failure = (op: ChaosOperation): unknown => {
    if (always) return alwaysError ?? new Error(`chaos: ${handle.name}.${op} failed (failAlways)`)
    if (pendingFailures === 0) return undefined
    pendingFailures--
    return pendingError ?? new Error(`chaos: ${handle.name}.${op} failed (failNext)`)
  }

  const waitForHolds = async (op: ChaosOperation): Promise<void> => {
    const matching = [...holds].filter((h) => h.ops === undefined || h.ops.has(op))
    if (matching.length === 0) return
    held++
    try {
      await Promise.all(matching.map((h) => h.released))
    } finally {
      held--
    }
  }

  const run = async <T>(op: ChaosOperation, call: () => MaybePromise<T>): Promise<T> => {
    if (disturbed !== undefined && !disturbed.has(op)) return call()
    calls++
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    const error = failure(op)
    if (error !== undefined) throw error
    let result: T
    try {
      result = await call()
    } catch (cause) {
      await waitForHolds(op)
      throw cause
    }
    await waitForHolds(op)
    return result
  }

  const capabilities: HandleCapabilities = { ...handle.capabilities, synchronous: false }
  const wrapper: ChaosHandle<V> = {
    name: handle.name,
    capabilities,
    get: (key, region) => run('get', () => handle.get(key, region)),
    add: (key, region, item) => run('add', () => handle.add(key, region, item)),
    set: (key, region, item) => run('set', () => handle.set(key, region, item)),
    update: (key, region, expected, item) => run('update', () => handle.update(key, region, expected, item)),
    remove: (key, region) => run('remove', () => handle.remove(key, region)),
    expire: (key, region, mode, ttl, expiresAt) =>
      run('expire', () => handle.expire(key, region, mode, ttl, expiresAt)),
    clear: () => run('clear', () => handle.clear()),
    clearRegion: (region) => run('clearRegion', () => handle.clearRegion(region)),
    close: () => handle.close(),
    failNext(n = 1, error?: unknown) {
      pendingFailures = n
      pendingError = error
    },
    failAlways(on = true, error?: unknown) {
      always = on
      alwaysError = error
    },
    delay(ms: number) {
      delayMs = ms
    },
    hold(ops?: readonly ChaosOperation[]) {
      let release!: () => void
      const hold: Hold = {
        ops: ops === undefined ? disturbed : new Set(ops),
        released: new Promise<void>((resolve) => {
          release = resolve
        }),
      }
      holds.add(hold)
      return () => {
        holds.delete(hold)
        release()
      }
    },
    get held() {
      return held
    },
    get calls() {
      return calls
    },
    inner: handle as CacheHandle,
  }
  // Optional members exist on the wrapper only when the wrapped handle has them, so core
  // and the conformance suite see the same shape.
  const { touch, peek, getMany, setMany, removeMany, onEvict, bind, onRemoteClear, onExternalClear } = handle
  if (onExternalClear !== undefined)
    wrapper.onExternalClear = (listener) => onExternalClear.call(handle, listener)
  if (touch !== undefined)
    wrapper.touch = (key, region) => run('touch', () => touch.call(handle, key, region))
  if (peek !== undefined) wrapper.peek = (key, region) => run('peek', () => peek.call(handle, key, region))
  if (getMany !== undefined) {
    wrapper.getMany = (keys, region) => run('getMany', () => getMany.call(handle, keys, region))
  }
  if (setMany !== undefined) {
    wrapper.setMany = (entries, region) => run('setMany', () => setMany.call(handle, entries, region))
  }
  if (removeMany !== undefined) {
    wrapper.removeMany = (keys, region) => run('removeMany', () => removeMany.call(handle, keys, region))
  }
  if (onEvict !== undefined) wrapper.onEvict = (listener) => onEvict.call(handle, listener)
  if (bind !== undefined) wrapper.bind = (cacheName) => bind.call(handle, cacheName)
  if (onRemoteClear !== undefined) {
    wrapper.onRemoteClear = (region) => run('onRemoteClear', () => onRemoteClear.call(handle, region))
  }
  return wrapper
}
