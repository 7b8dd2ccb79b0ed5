/**
 * The typed event map and a tiny emitter. Emitting must cost nothing when nobody
 * listens: callers check {@link CacheEmitter.has} before building a payload, so the
 * hot path never allocates an event object for an absent listener.
 */
import type { BackplaneGap, BackplaneState } from './contracts/backplane.js'
import type { EvictReason } from './contracts/cache-handle.js'
import type { CacheplaneError } from './errors.js'
import type { WakeReason } from './lock-waiters.js'

/**
 * Whether a change was made by this instance or by another one: heard on the backplane or,
 * for a clear, found by a handle (`onExternalClear`).
 */
export type Origin = 'local' | 'remote'

/** A change to one key. */
export interface KeyEvent {
  /** The key. */
  readonly key: string
  /** The region, if any. */
  readonly region: string | undefined
  /**
   * Made here or heard from another instance. With a backplane that orders frames behind the
   * store's writes (`Backplane.ordersAfter`), a remote `set` or `remove` is announced once its
   * store write was sent, before its outcome: if that write then failed, the key did not
   * change (this instance only dropped its copy).
   */
  readonly origin: Origin
}

/** A clear of the whole cache. */
export interface ClearEvent {
  /** Made here or heard from another instance. */
  readonly origin: Origin
}

/** A clear of one region. */
export interface ClearRegionEvent {
  /** The region cleared. */
  readonly region: string
  /** Made here or heard from another instance. */
  readonly origin: Origin
}

/** A read, with the level that answered it. */
export interface GetEvent {
  /** The key. */
  readonly key: string
  /** The region, if any. */
  readonly region: string | undefined
  /** Index of the handle that answered (0 = top), or -1 for a miss. */
  readonly level: number
  /** Name of the handle that answered; undefined for a miss. */
  readonly handle: string | undefined
}

/** A handle dropped an item by itself. */
export interface EvictEvent {
  /** The key. */
  readonly key: string
  /** The region, if any. */
  readonly region: string | undefined
  /** Why: `expired`, `evicted` (capacity) or `external` (someone else removed it). */
  readonly reason: EvictReason
  /** Name of the handle that dropped the item. */
  readonly handle: string
  /** Index of that handle (0 = top). */
  readonly level: number
}

/** A change of the backplane's connection state, or a detected gap. */
export type BackplaneEvent =
  | { readonly type: 'state'; readonly state: BackplaneState }
  | {
      readonly type: 'gap'
      readonly gap: BackplaneGap
      /** What core did about it: `cleared` the local handles or `kept` them. */
      readonly action: 'cleared' | 'kept'
    }

/** A frame from another instance, applied to the local handles. */
export interface FrameEvent {
  /** Messages (invalidations) the frame carried. */
  readonly messages: number
  /** When the sender encoded the frame, ms since the epoch by its clock; undefined for a frame without a send time. */
  readonly sentAt: number | undefined
  /**
   * Propagation latency, ms: from `sentAt` to the moment the messages were applied here
   * (by this host's clock, so clock offset between hosts is included); undefined without `sentAt`.
   */
  readonly latencyMs: number | undefined
}

/** A failure that did not (or not only) surface to a caller. */
export interface ErrorEvent {
  /** The operation that failed: `get`, `set`, `touch`, `remote-invalidate`, `backplane`, ... */
  readonly operation: string
  /** Name of the handle or backplane involved, if any. */
  readonly handle: string | undefined
  /** The typed error; the raw error of a handle is its `cause`. */
  readonly error: CacheplaneError
}

/** Why getOrAdd served a graced (stale) value instead of a fresh one. */
export type FailSafeReason = 'factory-failed' | 'store-failed' | 'throttled' | 'soft-timeout' | 'hard-timeout'

/** getOrAdd fell back to a graced value. */
export interface FailSafeEvent {
  /** The key. */
  readonly key: string
  /** The region, if any. */
  readonly region: string | undefined
  /** What failed (or that a recent failure's throttle window is still open). */
  readonly reason: FailSafeReason
  /** The factory's error or the store's typed error, when there is one. */
  readonly error?: unknown
}

/** A getOrAdd factory ran past one of its timeouts. */
export interface FactoryTimeoutEvent {
  /** The key. */
  readonly key: string
  /** The region, if any. */
  readonly region: string | undefined
  /** `soft` (a graced value was served, the factory goes on in the background) or `hard`. */
  readonly reason: 'soft' | 'hard'
}

/** What an eager refresh did. */
export type EagerRefreshReason = 'started' | 'written' | 'failed' | 'skipped'

/** A background refresh of an item past the `eagerRefresh` share of its lifetime. */
export interface EagerRefreshEvent {
  /** The key. */
  readonly key: string
  /** The region, if any. */
  readonly region: string | undefined
  /**
   * `started`, then `written`, `failed` (the factory failed, with its `error`; or the write
   * did, reported as an `error` event) or `skipped` (the factory called `ctx.skip`, or the
   * key changed while it ran: a newer write, a remove or a clear wins over its result).
   */
  readonly reason: EagerRefreshReason
  /** The factory's error (for `failed`). */
  readonly error?: unknown
}

/**
 * getOrAdd's cluster lock (`distributedLock`): why a call coalesced in-process only, or how a
 * waiter got another instance's value.
 */
export type DistributedLockEvent =
  | {
      /** The bottom handle cannot hold cluster locks (emitted once per manager). */
      readonly type: 'unsupported'
      /** The bottom handle's name. */
      readonly handle: string
      /** `no-lock`: it has no `lock`; `not-distributed`: it is in-process. */
      readonly reason: 'no-lock' | 'not-distributed'
    }
  | {
      /** Taking the lock failed (store down, circuit open): this call coalesced in-process only. */
      readonly type: 'unavailable'
      readonly key: string
      readonly region: string | undefined
      /** The typed error (also reported as an `error` event). */
      readonly error: unknown
    }
  | {
      /** A waiter read the holder's value. */
      readonly type: 'woken'
      readonly key: string
      readonly region: string | undefined
      /** What woke it: the holder's backplane `message`, a `local-write`, a `clear`, or the fallback `check`. */
      readonly reason: WakeReason
      /** How long it waited, ms. */
      readonly waitedMs: number
    }
  | {
      /** A waiter took the lock after waiting (the holder crashed, failed or wrote nothing) and runs the factory. */
      readonly type: 'takeover'
      readonly key: string
      readonly region: string | undefined
      /** How long it waited, ms. */
      readonly waitedMs: number
    }

/** A tag was invalidated (`removeByTag`): every item carrying it is gone. */
export interface RemoveByTagEvent {
  /** The tag. */
  readonly tag: string
  /** Made here (`removeByTag`) or heard from another instance. */
  readonly origin: Origin
}

/** Every event a `CacheManager` emits, by name. */
export interface CacheEvents {
  /** An item was added (only if absent). */
  add: KeyEvent
  /** An item was written. */
  set: KeyEvent
  /** An item was updated (compare-and-set). */
  update: KeyEvent
  /** An item's expiration was changed. */
  expire: KeyEvent
  /** An item was removed. */
  remove: KeyEvent
  /** The cache was cleared. */
  clear: ClearEvent
  /** A region was cleared. */
  clearRegion: ClearRegionEvent
  /** A tag was invalidated. */
  removeByTag: RemoveByTagEvent
  /** A read finished. */
  get: GetEvent
  /** A handle dropped an item by itself. */
  evict: EvictEvent
  /** The backplane changed state or reported a gap. */
  backplane: BackplaneEvent
  /** A frame from another instance was applied (for propagation latency). */
  frame: FrameEvent
  /** Something failed. */
  error: ErrorEvent
  /** getOrAdd served a graced value because the factory or the store failed or timed out. */
  failSafe: FailSafeEvent
  /** A getOrAdd factory ran past its soft or hard timeout. */
  factoryTimeout: FactoryTimeoutEvent
  /** An eager refresh started or ended. */
  eagerRefresh: EagerRefreshEvent
  /** getOrAdd's cluster lock fell back to in-process coalescing, or a waiter got its value. */
  distributedLock: DistributedLockEvent
}

/** An event name. */
export type CacheEventName = keyof CacheEvents

/** A listener of one event. */
export type CacheListener<E extends CacheEventName> = (event: CacheEvents[E]) => void

/**
 * Arrays per event (copy-on-write, so a listener may unsubscribe while being called).
 * A listener that throws does not stop the others; its error is rethrown asynchronously
 * so it is not swallowed.
 */
export class CacheEmitter {
  readonly #listeners: { [E in CacheEventName]?: ReadonlyArray<CacheListener<E>> } = {}

  /** True when at least one listener is registered for `event`. Check it before building a payload. */
  has(event: CacheEventName): boolean {
    const list = this.#listeners[event]
    return list !== undefined && list.length !== 0
  }

  /** Registers a listener. */
  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): void {
    const list = (this.#listeners[event] ?? []) as ReadonlyArray<CacheListener<E>>
    ;(this.#listeners as Record<string, unknown>)[event] = [...list, listener]
  }

  /** Removes a listener registered with {@link on}. */
  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): void {
    const list = this.#listeners[event] as ReadonlyArray<CacheListener<E>> | undefined
    if (list === undefined) return
    const index = list.indexOf(listener)
    if (index === -1) return
    ;(this.#listeners as Record<string, unknown>)[event] = list.filter((_, i) => i !== index)
  }

  /** Calls every listener of `event` with `payload`. */
  emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
    const list = this.#listeners[event] as ReadonlyArray<CacheListener<E>> | undefined
    if (list === undefined) return
    for (const listener of list) {
      try {
        listener(payload)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}
