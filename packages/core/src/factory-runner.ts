/**
 * One call of a getOrAdd factory: its context (key, region, abort signal, the graced value,
 * adaptive expiration, skip, fail) and its outcome as a value that never rejects, so the
 * caller can race it against timeouts and still hand it to a background completion.
 */
import type { Factory, FactoryContext, FactoryFailure } from './call-options.js'
import type { Expiration } from './contracts/cache-handle.js'
import { FactoryUndefinedError } from './errors.js'
import { callGrace } from './resilience-options.js'
import type { FactoryStats } from './stats.js'
import { checkExpiration } from './validation.js'
import { traceFactory } from './tracing.js'
import { checkTags } from './tags.js'

/** How a factory call ended. */
export type FactoryOutcome =
  | {
      readonly ok: true
      /** What the factory returned. */
      readonly value: unknown
      /** Expiration to cache it with (the call's, or `ctx.setExpiration`'s). */
      readonly expiration: Expiration
      /** Grace, ms, to cache it with. */
      readonly grace: number
      /** `ctx.skip()` was called: return the value, do not cache it. */
      readonly skip: boolean
      /** Tags to cache it with (the call's, or `ctx.setTags`'s). */
      readonly tags: readonly string[] | undefined
    }
  | {
      readonly ok: false
      /** What the factory threw, passed to `ctx.fail`, or FactoryUndefinedError. */
      readonly error: unknown
    }

/** A running factory call. */
export interface FactoryRun {
  /** Settles with the outcome; never rejects. */
  readonly done: Promise<FactoryOutcome>
  /** Aborts the factory's signal. */
  abort(reason: unknown): void
}

/** What a factory call needs besides the factory. */
export interface FactoryCall {
  /** The cache's name (for tracing). */
  readonly cache: string
  /** The key. */
  readonly key: string
  /** Its region, if any. */
  readonly region: string | undefined
  /** The graced value, when one exists. */
  readonly stale: { readonly value: unknown } | undefined
  /** Expiration and grace the result is cached with unless the factory changes them. */
  readonly expiration: Expiration
  /** Grace, ms, of the result. */
  readonly grace: number
  /** The manager's default grace (what `ctx.setExpiration` without a grace applies). */
  readonly defaultGrace: number
  /** Tags of the result unless the factory changes them. */
  readonly tags: readonly string[] | undefined
}

class Failure implements FactoryFailure {
  constructor(readonly error: unknown) {}
}

class Context implements FactoryContext<unknown> {
  readonly key: string
  readonly region: string | undefined
  readonly signal: AbortSignal
  readonly stale: unknown
  readonly hasStale: boolean
  expiration: Expiration
  grace: number
  tags: readonly string[] | undefined
  skipped = false
  failure: Failure | undefined
  readonly #defaultGrace: number

  constructor(call: FactoryCall, signal: AbortSignal) {
    this.key = call.key
    this.region = call.region
    this.signal = signal
    this.stale = call.stale?.value
    this.hasStale = call.stale !== undefined
    this.expiration = call.expiration
    this.grace = call.grace
    this.tags = call.tags
    this.#defaultGrace = call.defaultGrace
  }

  setExpiration(expiration: Expiration, grace?: number): void {
    checkExpiration(expiration, 'ctx.setExpiration')
    this.grace = callGrace(grace, expiration, this.#defaultGrace)
    this.expiration = expiration
  }

  setTags(tags: readonly string[]): void {
    this.tags = checkTags(tags, 'ctx.setTags')
  }

  skip(): void {
    this.skipped = true
  }

  fail(error: unknown): FactoryFailure {
    this.failure = new Failure(error)
    return this.failure
  }

  /** The outcome of a factory that returned `value`. */
  outcome(value: unknown): FactoryOutcome {
    if (this.failure !== undefined || value instanceof Failure) {
      return { ok: false, error: (this.failure ?? (value as Failure)).error }
    }
    if (value === undefined) {
      const error = new FactoryUndefinedError(`the getOrAdd factory returned undefined for '${this.key}'`)
      return { ok: false, error }
    }
    const { expiration, grace, tags, skipped } = this
    return { ok: true, value, expiration, grace, skip: skipped, tags }
  }
}

/** Starts `factory` for `call`; a synchronous throw is an outcome like a rejection. */
export function runFactory(factory: Factory<unknown>, call: FactoryCall, stats: FactoryStats): FactoryRun {
  const controller = new AbortController()
  const ctx = new Context(call, controller.signal)
  stats.calls++
  let done: Promise<FactoryOutcome>
  try {
    const result = traceFactory(call.cache, call.key, call.region, () => factory(call.key, call.region, ctx))
    done = Promise.resolve(result).then(
      (value) => ctx.outcome(value),
      (error: unknown) => ({ ok: false, error }) as const,
    )
  } catch (error) {
    done = Promise.resolve({ ok: false, error } as const)
  }
  done = done.then((outcome) => {
    if (!outcome.ok) stats.errors++
    return outcome
  })
  return { done, abort: (reason) => controller.abort(reason) }
}

/** What {@link raceTimeouts} saw first. */
export type RaceResult = FactoryOutcome | 'soft' | 'hard'

/**
 * The outcome, or `soft`/`hard` when that timeout (ms; 0 = none) fires first. Timers are
 * cleared as soon as the race is decided, so none outlives the call.
 */
export function raceTimeouts(
  done: Promise<FactoryOutcome>,
  softMs: number,
  hardMs: number,
): Promise<RaceResult> {
  if (softMs === 0 && hardMs === 0) return done
  return new Promise<RaceResult>((resolve) => {
    const timers: ReturnType<typeof setTimeout>[] = []
    const finish = (result: RaceResult) => {
      for (const timer of timers) clearTimeout(timer)
      resolve(result)
    }
    if (softMs !== 0) timers.push(setTimeout(() => finish('soft'), softMs))
    if (hardMs !== 0) timers.push(setTimeout(() => finish('hard'), hardMs))
    void done.then(finish)
  })
}

/** `promise`, or `timedOut` after `ms` (0 = wait for the promise). */
export function withTimeout<T, U>(promise: Promise<T>, ms: number, timedOut: U): Promise<T | U> {
  if (ms === 0) return promise
  return new Promise<T | U>((resolve, reject) => {
    const timer = setTimeout(() => resolve(timedOut), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
