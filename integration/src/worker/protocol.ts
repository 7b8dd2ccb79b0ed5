/**
 * What the test process and a worker process say to each other over the IPC channel.
 * Everything here is plain data (structured-clone serializable): it crosses a process boundary.
 */
import type { CacheManagerCall } from './cache-manager-calls.js'
import type { ManagerSpec } from './topology.js'

/** The value every scenario stores: a per-key version and who wrote it. */
export interface Value {
  /** Version: writers make it grow per key, so staleness can be measured. */
  readonly v: number
  /** Id of the worker that wrote it. */
  readonly by: string
}

/** An expiration, as `CacheManager` takes it. */
export type ExpirationSpec =
  | { readonly mode: 'none' }
  | { readonly mode: 'absolute' | 'sliding'; readonly ttl: number }

/** A read as the worker reports it. */
export interface ReadResult {
  readonly value: Value
  /** Index of the handle that answered (0 = memory). */
  readonly level: number
  readonly mode: string
  readonly expiresAt: number
}

/** Options of the soak loop a worker runs by itself. */
export interface SoakOptions {
  readonly keys: readonly string[]
  readonly durationMs: number
  /** Concurrent loops in this process. */
  readonly loops: number
  /** Share of operations that are writes, 0..1. */
  readonly writeRatio: number
}

/** What a worker recorded during a soak; times are `Date.now()` (one clock for every process). */
export interface SoakLog {
  /** [key index, version, ack time, issue time] of every acknowledged write. */
  readonly writes: [number, number, number, number][]
  /** [key index, version read (0 = miss), start time, level] of every read. */
  readonly reads: [number, number, number, number][]
  /** [key index or -1 for everything, time] of every remote invalidation and cleared gap. */
  readonly invalidations: [number, number][]
  /** Operations that threw, by error name. */
  readonly failures: Record<string, number>
}

/** getOrAdd's per-call resilience options, as `CacheManager` takes them (issue 12). */
export interface LoadOptionsSpec {
  readonly expiration?: ExpirationSpec
  readonly grace?: number
  readonly failSafeThrottleMs?: number
  readonly softTimeoutMs?: number
  readonly hardTimeoutMs?: number
  readonly eagerRefresh?: number
  /** getOrAdd's cluster lock (issue 14). */
  readonly distributedLock?: boolean | { readonly ttlMs?: number; readonly checkIntervalMs?: number }
}

/** What a `load` command saw: every answer, and how long the whole command took. */
export interface LoadResult {
  /** The answers, in call order (`null` for a call that threw). */
  readonly values: (Value | null)[]
  /** Error names of the calls that threw. */
  readonly errors: string[]
  /** Wall time of the whole command, ms. */
  readonly elapsedMs: number
}

/** A command to a worker; `id` pairs it with its reply. */
export type Command =
  | {
      readonly op: 'init'
      readonly spec: ManagerSpec
      /** Reply only once the manager is ready (default); false replies at once, subscription pending. */
      readonly waitReady?: boolean
    }
  | { readonly op: 'ping' }
  /** Lets a manager built with `holdSubscription` subscribe its backplane. */
  | { readonly op: 'releaseSubscription' }
  | {
      readonly op: 'get'
      readonly key: string
      readonly region?: string
      readonly cache?: string
      readonly allowStale?: boolean
    }
  | {
      readonly op: 'set'
      readonly key: string
      readonly value: Value
      readonly region?: string
      readonly expiration?: ExpirationSpec
      /** Which of the worker's caches (`sharedWith`); default its first. */
      readonly cache?: string
    }
  | { readonly op: 'add'; readonly key: string; readonly value: Value; readonly region?: string }
  | { readonly op: 'bump'; readonly key: string; readonly region?: string }
  | { readonly op: 'bumpLoop'; readonly key: string; readonly count: number }
  /** Until `until` (epoch ms): set every key at once (value `v` = the round), wait for all of them, again. */
  | { readonly op: 'setLoop'; readonly keys: readonly string[]; readonly until: number }
  | { readonly op: 'getOrAdd'; readonly key: string; readonly value: Value; readonly factoryDelayMs?: number }
  /**
   * getOrAdd `calls` times (`concurrent`: all at once, else one after another) with a factory
   * that answers `value` after `factoryDelayMs`, or throws (`factory: 'throw'`). Every factory
   * call is counted per key (`factoryCalls`).
   */
  | {
      readonly op: 'load'
      readonly key: string
      readonly value: Value
      readonly factory?: 'value' | 'throw'
      readonly factoryDelayMs?: number
      readonly options?: LoadOptionsSpec
      readonly calls?: number
      readonly concurrent?: boolean
    }
  /** How many times this worker's `load` factories ran for `key`. */
  | { readonly op: 'factoryCalls'; readonly key: string }
  | { readonly op: 'remove'; readonly key: string; readonly region?: string }
  | {
      readonly op: 'expire'
      readonly key: string
      readonly expiration: ExpirationSpec
      readonly region?: string
    }
  | { readonly op: 'clear' }
  | { readonly op: 'clearRegion'; readonly region: string }
  | { readonly op: 'stats' }
  /** A call through cache-manager 7 over `keyvStore(manager)`. */
  | { readonly op: 'cacheManager'; readonly call: CacheManagerCall }
  | { readonly op: 'soak'; readonly options: SoakOptions }
  | { readonly op: 'setThenDie'; readonly key: string; readonly value: Value }
  /** An update adding `add` whose function waits for `release` of `gate`; emits `updateRead` when it has read. */
  | { readonly op: 'heldUpdate'; readonly key: string; readonly add: number; readonly gate: string }
  | { readonly op: 'release'; readonly gate: string }
  | {
      readonly op: 'slowUpdateLoop'
      readonly key: string
      readonly durationMs: number
      readonly delayMs: number
    }
  | { readonly op: 'reAddLoop'; readonly key: string; readonly durationMs: number; readonly pauseMs: number }
  | { readonly op: 'close' }
  /** Sets `keys[i]` to `{ v }` tagged `tags[i]` (tags.test.ts). */
  | {
      readonly op: 'tagFill'
      readonly keys: readonly string[]
      readonly tags: readonly string[]
      readonly v: number
    }
  | { readonly op: 'tagRemove'; readonly tags: readonly string[] }
  /** peek, get and has of every key (a `TagReadResult`). */
  | { readonly op: 'tagRead'; readonly keys: readonly string[] }

/** A command with its id, as sent. */
export type Request = Command & { readonly id: number }

/** The reply to one request. */
export type Reply =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | {
      readonly type: 'reply'
      readonly id: number
      readonly ok: false
      readonly error: { readonly name: string; readonly message: string }
    }

/** An event of the worker's `CacheManager`, forwarded as it happens. */
export interface WorkerEvent {
  readonly type: 'event'
  /**
   * Event name: add, set, update, expire, remove, clear, clearRegion, backplane, error, evict, failSafe,
   * factoryTimeout, eagerRefresh, distributedLock (detail: its type, action: a wake reason), or
   * `factory` (a `load` factory started).
   */
  readonly name: string
  /** The cache that emitted it (a worker may run several on one backplane). */
  readonly cache?: string
  readonly origin?: 'local' | 'remote'
  readonly key?: string
  readonly region?: string
  /** backplane: `state` or `gap`; error: the failed operation; failSafe, factoryTimeout, eagerRefresh: the reason. */
  readonly detail?: string
  /** backplane gap: `cleared` or `kept`; backplane state: the state; error: the error's name. */
  readonly action?: string
  /** Error message, for error events. */
  readonly message?: string
  /** `Date.now()` in the worker. */
  readonly at: number
}

/** Anything a worker sends. */
export type WorkerMessage = Reply | WorkerEvent
