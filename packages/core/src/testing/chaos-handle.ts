/**
 * A CacheHandle wrapper that injects faults: failures, latency, and reads held until a
 * test releases them (which makes races such as the read/invalidate fence deterministic).
 * The wrapper keeps the wrapped handle's name and capabilities, except that it is always
 * asynchronous (`synchronous: false`): delays and holds need promises.
 */
import type {
  CacheHandle,
  ExpirationMode,
  ItemInput,
  StoredItem,
  UpdateOutcome,
} from '../contracts/cache-handle.js'
import type { HandleLock } from '../contracts/handle-lock.js'
import { type ChaosOperation, ChaosFaults } from './chaos-faults.js'

export type { ChaosOperation } from './chaos-faults.js'

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

type Run = ChaosFaults['run']

/** The required data operations of `handle`, each made through `run`. */
function dataOperations<V>(handle: CacheHandle<V>, run: Run) {
  return {
    get: (key: string, region: string | undefined) => run('get', () => handle.get(key, region)),
    add: (key: string, region: string | undefined, item: ItemInput<V>) =>
      run('add', () => handle.add(key, region, item)),
    set: (key: string, region: string | undefined, item: ItemInput<V>) =>
      run('set', () => handle.set(key, region, item)),
    update: (key: string, region: string | undefined, expected: number, item: ItemInput<V>) =>
      run('update', () => handle.update(key, region, expected, item)),
    remove: (key: string, region: string | undefined) => run('remove', () => handle.remove(key, region)),
    expire: (key: string, region: string | undefined, mode: ExpirationMode, ttl: number, expiresAt: number) =>
      run('expire', () => handle.expire(key, region, mode, ttl, expiresAt)),
    clear: () => run('clear', () => handle.clear()),
    clearRegion: (region: string) => run('clearRegion', () => handle.clearRegion(region)),
  }
}

/**
 * Optional members exist on the wrapper only when the wrapped handle has them, so core
 * and the conformance suite see the same shape.
 */
function addOptionalMembers<V>(wrapper: ChaosHandle<V>, handle: CacheHandle<V>, run: Run): void {
  const {
    touch,
    peek,
    getMany,
    setMany,
    removeMany,
    onEvict,
    bind,
    onRemoteClear,
    onExternalClear,
    barrier,
  } = handle
  if (barrier !== undefined) wrapper.barrier = () => run('barrier', () => barrier.call(handle))
  if (onExternalClear !== undefined)
    wrapper.onExternalClear = (listener) => onExternalClear.call(handle, listener)
  if (touch !== undefined)
    wrapper.touch = (key, region) => run('touch', () => touch.call(handle, key, region))
  if (peek !== undefined) wrapper.peek = (key, region) => run('peek', () => peek.call(handle, key, region))
  if (getMany !== undefined)
    wrapper.getMany = (keys, region) => run('getMany', () => getMany.call(handle, keys, region))
  if (setMany !== undefined)
    wrapper.setMany = (entries, region) => run('setMany', () => setMany.call(handle, entries, region))
  if (removeMany !== undefined)
    wrapper.removeMany = (keys, region) => run('removeMany', () => removeMany.call(handle, keys, region))
  const lock = handle.lock
  if (lock !== undefined) {
    const wrapped: HandleLock = {
      acquire: (key, region, owner, ttlMs) => run('lock', () => lock.acquire(key, region, owner, ttlMs)),
      release: (key, region, owner) => run('lock', () => lock.release(key, region, owner)),
    }
    ;(wrapper as { lock?: HandleLock }).lock = wrapped
  }
  if (onEvict !== undefined) wrapper.onEvict = (listener) => onEvict.call(handle, listener)
  if (bind !== undefined) wrapper.bind = (cacheName) => bind.call(handle, cacheName)
  if (onRemoteClear !== undefined)
    wrapper.onRemoteClear = (region) => run('onRemoteClear', () => onRemoteClear.call(handle, region))
}

/** Wraps `handle` in fault controls (see {@link ChaosHandleControls}). */
export function chaosHandle<V>(handle: CacheHandle<V>, options: ChaosHandleOptions = {}): ChaosHandle<V> {
  const faults = new ChaosFaults(handle.name, options.ops === undefined ? undefined : new Set(options.ops))
  const run: Run = (op, call) => faults.run(op, call)
  const wrapper: ChaosHandle<V> = {
    name: handle.name,
    // Always asynchronous: delays and holds need promises.
    capabilities: { ...handle.capabilities, synchronous: false },
    ...dataOperations(handle, run),
    close: () => handle.close(),
    failNext: (n, error) => faults.failNext(n, error),
    failAlways: (on, error) => faults.failAlways(on, error),
    delay: (ms) => faults.delay(ms),
    hold: (ops) => faults.hold(ops),
    get held() {
      return faults.held
    },
    get calls() {
      return faults.calls
    },
    inner: handle as CacheHandle,
  }
  addOptionalMembers(wrapper, handle, run)
  return wrapper
}
