/**
 * Spans from core's `node:diagnostics_channel` tracing channels: `cacheplane.<operation>`
 * becomes a span `cache.<operation>`, `cacheplane.factory` a `cache.factory` span under
 * the `getOrAdd` that called it. Nothing wraps the manager: core publishes the context of
 * each call, and the span travels on that context object between its start and its end.
 *
 * A read the top level answers on core's fast path (a memory hit) is not traced by core:
 * it comes as one message on `cacheplane.topHit`. A span per memory hit would cost many
 * times the hit itself, so those spans are sampled (`topHits`, default none) and the
 * channel is left unsubscribed when none are wanted: memory hits are then counted by the
 * metrics only, and cost core one property read.
 *
 * Which level answered a read is not in the trace context: it is in the manager's `get`
 * event. To pair the two, the read channels bind an AsyncLocalStorage to their `start`,
 * so the event listener (and the factory's start) find the operation in progress.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel'
import type { TopHit, TraceContext, TracedOperation } from '@cacheplane/core'
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import {
  ATTR_CACHE_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HANDLE,
  ATTR_HIT,
  ATTR_LEVEL,
  ATTR_REGION,
} from './attributes.js'

/** Operations whose span says which level answered, from the manager's `get` events. */
const LEVELLED: ReadonlySet<string> = new Set(['get', 'peek', 'getItem', 'getOrAdd'])
/** Reads core answers from the top on its fast path, published on `cacheplane.topHit`. */
const TOP_READS: ReadonlySet<string> = new Set(['get', 'getOrAdd', 'peek'])
/** Operations that return synchronously: their span ends on `end`, not `asyncEnd`. */
const SYNCHRONOUS: ReadonlySet<string> = new Set(['peek'])

const STATE = Symbol('cacheplane.opentelemetry.span')

/** What the span of one call has learned so far. */
class OperationSpan {
  /** Level that answered (from a `get` event), -1 for none yet. */
  level = -1
  handle: string | undefined = undefined
  /** The getOrAdd called its factory: a miss. */
  factoryCalled = false
  constructor(readonly span: Span) {}
}

/** The trace context as the channels hand it over, with what tracing channels add and our state. */
interface Traced extends TraceContext {
  result?: unknown
  error?: unknown
  [STATE]?: OperationSpan | undefined
}

/** Options of {@link SpanTracer}. */
export interface SpanTracerOptions {
  /** Only start spans with a span already active. */
  readonly requireParentSpan: boolean
  /** Put the region on spans. */
  readonly regionAttribute: boolean
  /** The operations to trace; the others' channels are left alone, so core pays nothing for them. */
  readonly operations: readonly TracedOperation[]
  /** Fraction of fast-path top hits (memory hits) that make a span, 0 to 1. */
  readonly topHits: number
}

type Handlers = Parameters<TracingChannel<Traced, Traced>['subscribe']>[0]

/** Subscribes to core's tracing channels and turns each call into a span. */
export class SpanTracer {
  readonly #tracer: Tracer
  readonly #options: SpanTracerOptions
  readonly #store = new AsyncLocalStorage<Traced>()
  #unsubscribe: Array<() => void> = []

  constructor(tracer: Tracer, options: SpanTracerOptions) {
    this.#tracer = tracer
    this.#options = options
  }

  /** True when a traced operation's span names the level that answered (it needs the caches' `get` events). */
  get tracesReads(): boolean {
    return this.#options.operations.some((operation) => LEVELLED.has(operation))
  }

  /** Subscribes to every channel (idempotent). */
  enable(): void {
    if (this.#unsubscribe.length !== 0) return
    for (const operation of this.#options.operations) {
      const channel = tracingChannel<Traced, Traced>(`cacheplane.${operation}`)
      const handlers = this.#handlers(SYNCHRONOUS.has(operation), (c) => this.#start(c))
      channel.subscribe(handlers)
      if (LEVELLED.has(operation)) channel.start.bindStore(this.#store, (c) => c as Traced)
      this.#unsubscribe.push(() => {
        channel.unsubscribe(handlers)
        if (LEVELLED.has(operation)) channel.start.unbindStore(this.#store)
      })
    }
    this.#subscribeTopHits()
    if (!this.#options.operations.includes('getOrAdd')) return
    const factory = tracingChannel<Traced, Traced>('cacheplane.factory')
    const handlers = this.#handlers(false, (c) => this.#startFactory(c))
    factory.subscribe(handlers)
    this.#unsubscribe.push(() => factory.unsubscribe(handlers))
  }

  /** Spans for sampled top hits of the traced reads; nothing subscribed when none are wanted. */
  #subscribeTopHits(): void {
    const ratio = this.#options.topHits
    const reads = new Set<string>(this.#options.operations.filter((operation) => TOP_READS.has(operation)))
    if (ratio <= 0 || reads.size === 0) return
    const topHit = channel('cacheplane.topHit')
    const onTopHit = (message: unknown) => {
      const hit = message as TopHit
      if (!reads.has(hit.operation) || (ratio < 1 && Math.random() >= ratio)) return
      this.#topHitSpan(hit)
    }
    topHit.subscribe(onTopHit)
    this.#unsubscribe.push(() => topHit.unsubscribe(onTopHit))
  }

  /** A top hit is over when it is published: its span starts and ends here. */
  #topHitSpan(hit: TopHit): void {
    const parent = context.active()
    if (this.#options.requireParentSpan && trace.getSpan(parent) === undefined) return
    const attributes: Attributes = {
      [ATTR_DB_OPERATION_NAME]: hit.operation,
      [ATTR_CACHE_NAME]: hit.cache,
    }
    if (this.#options.regionAttribute && hit.region !== undefined) attributes[ATTR_REGION] = hit.region
    attributes[ATTR_HIT] = true
    attributes[ATTR_LEVEL] = 0
    attributes[ATTR_HANDLE] = hit.handle
    this.#tracer.startSpan(`cache.${hit.operation}`, { kind: SpanKind.INTERNAL, attributes }, parent).end()
  }

  /** Unsubscribes from every channel; spans in flight end normally. */
  disable(): void {
    for (const off of this.#unsubscribe.splice(0)) off()
    // An AsyncLocalStorage that has run keeps Node 20's promise hooks on (a cost on every
    // promise of the process) until it is disabled.
    this.#store.disable()
  }

  /** A read of `cache` was answered at `level` by `handle` (-1: a miss): noted on the call in progress. */
  noteRead(cache: string, level: number, handle: string | undefined): void {
    const state = this.#store.getStore()
    const operation = state?.[STATE]
    if (operation === undefined || state?.cache !== cache || level < 0) return
    operation.level = level
    operation.handle = handle
  }

  #handlers(synchronous: boolean, start: (context: Traced) => void): Handlers {
    return {
      start,
      // A synchronous call ends here; an asynchronous one only if it threw before returning its promise.
      end: (c) => {
        if (synchronous || c.error !== undefined) this.#finish(c)
      },
      asyncStart: () => {},
      asyncEnd: (c) => this.#finish(c),
      error: () => {},
    }
  }

  #start(traced: Traced): void {
    const parent = context.active()
    if (this.#options.requireParentSpan && trace.getSpan(parent) === undefined) return
    const attributes: Attributes = {
      [ATTR_DB_OPERATION_NAME]: traced.operation,
      [ATTR_CACHE_NAME]: traced.cache,
    }
    if (this.#options.regionAttribute && traced.region !== undefined) attributes[ATTR_REGION] = traced.region
    const span = this.#tracer.startSpan(
      `cache.${traced.operation}`,
      { kind: SpanKind.INTERNAL, attributes },
      parent,
    )
    traced[STATE] = new OperationSpan(span)
  }

  #startFactory(traced: Traced): void {
    const caller = this.#store.getStore()?.[STATE]
    if (caller !== undefined) caller.factoryCalled = true
    const active = context.active()
    if (caller === undefined && this.#options.requireParentSpan && trace.getSpan(active) === undefined) return
    const parent = caller === undefined ? active : trace.setSpan(active, caller.span)
    const attributes: Attributes = {
      [ATTR_DB_OPERATION_NAME]: 'factory',
      [ATTR_CACHE_NAME]: traced.cache,
    }
    if (this.#options.regionAttribute && traced.region !== undefined) attributes[ATTR_REGION] = traced.region
    const span = this.#tracer.startSpan('cache.factory', { kind: SpanKind.INTERNAL, attributes }, parent)
    traced[STATE] = new OperationSpan(span)
  }

  #finish(traced: Traced): void {
    const state = traced[STATE]
    if (state === undefined) return
    traced[STATE] = undefined
    const { span } = state
    if (traced.error !== undefined) {
      recordError(span, traced.error)
    } else {
      recordOutcome(span, traced.operation, traced.result, state)
    }
    span.end()
  }
}

/** Hit or miss, and the level that answered, for the reads. */
function recordOutcome(span: Span, operation: string, result: unknown, state: OperationSpan): void {
  let hit: boolean
  switch (operation) {
    case 'get':
    case 'peek':
      hit = result !== undefined
      break
    case 'getItem':
      hit = result !== undefined
      if (hit && state.level < 0) state.level = (result as { level: number }).level
      break
    case 'has':
      hit = result === true
      break
    case 'getOrAdd':
      hit = !state.factoryCalled
      break
    default:
      return
  }
  span.setAttribute(ATTR_HIT, hit)
  if (hit && state.level >= 0) {
    span.setAttribute(ATTR_LEVEL, state.level)
    if (state.handle !== undefined) span.setAttribute(ATTR_HANDLE, state.handle)
  }
}

/** Status, `error.type` and the exception event of a failed call. */
function recordError(span: Span, error: unknown): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType(error))
  if (error instanceof Error) {
    span.recordException(error)
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) })
  }
}

/** Low-cardinality error type: cacheplane's stable `code`, else the class name, else `_OTHER` (the convention's fallback). */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && code.length !== 0) return code
    const name = (error as { constructor?: { name?: unknown } }).constructor?.name
    if (typeof name === 'string' && name.length !== 0) return name
  }
  return '_OTHER'
}
