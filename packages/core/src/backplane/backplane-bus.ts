/**
 * The backplane bus: everything core does around a dumb transport, written once.
 *
 * Outbound, `announce` queues a key-only message in an {@link OutboundQueue}
 * (deduplicated, bounded, collapsing into one `cleared` on overflow). When the bus is
 * idle the queue is flushed on the next turn of the event loop, so announces made
 * together travel in one frame; under load at most one flush is in flight and the next
 * batch accumulates meanwhile. A batch is split into frames that fit the smaller of our
 * and the transport's maximum frame size. A failed publish puts its unsent messages back
 * in front of the queue and is retried with exponential backoff and jitter until it
 * succeeds or the bus is closed: a message is published, merged into one that covers it,
 * or reported as lost at close, never dropped silently.
 *
 * Inbound, every frame is decoded (and verified, with a secret) before anything is
 * delivered; invalid frames are counted and reported and deliver nothing; our own frames
 * are skipped. Nothing a handler or a frame does can throw into the transport.
 */
import type { Backplane, BackplaneGap, BackplaneListener, BackplaneState } from '../contracts/backplane.js'
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import { BackplaneFailedError, CacheplaneError, FrameInvalidError, InvalidOptionsError } from '../errors.js'
import { decodeFrame, encodedMessageSize, encodeFrame, frameOverheadBytes } from './frame-codec.js'
import type { BackplaneMessage } from './messages.js'
import { OutboundQueue, type QueuedMessage } from './outbound-queue.js'

/** What the bus reports to its owner (the CacheManager). */
export interface BackplaneBusHandlers {
  /** Messages of one remote frame, decoded and verified; never our own. */
  onMessages(messages: readonly BackplaneMessage[], senderId: string): void
  /** The transport reported that frames may have been missed. */
  onGap(gap: BackplaneGap): void
  /** The transport's connection state changed. */
  onState(state: BackplaneState): void
  /** Invalid frames (E_FRAME_INVALID / E_FRAME_SIGNATURE), failed publish attempts (E_BACKPLANE_FAILED). */
  onError(error: CacheplaneError): void
}

/** Options of {@link BackplaneBus}. */
export interface BackplaneBusOptions {
  /** The transport. */
  backplane: Backplane
  /** Channel to connect to (one per cache name). */
  channel: string
  /** This instance's id (32 hex chars, see {@link newSenderId}); frames carrying it are skipped. */
  senderId: string
  /** Shared secret: outgoing frames are signed, incoming frames must be signed with it. */
  secret?: string | Uint8Array | undefined
  /** Distinct pending messages; on overflow the queue collapses into one `cleared`. */
  maxQueue: number
  /** Largest frame sent or accepted, bytes (sending also respects the transport's limit). */
  maxFrameBytes: number
  /** Publish retries: exponential backoff from `baseDelayMs` up to `maxDelayMs`, with jitter, until close. */
  retry: { baseDelayMs: number; maxDelayMs: number }
  /** How long `close()` keeps trying to publish what is queued, ms. */
  closeTimeoutMs: number
  /** Where messages, gaps, state changes and errors go. */
  handlers: BackplaneBusHandlers
}

/** Counters of one bus. */
export interface BackplaneBusStats {
  /** Frames published successfully. */
  framesSent: number
  /** Messages in frames published successfully. */
  messagesSent: number
  /** Frames the transport delivered (own and invalid ones included). */
  framesReceived: number
  /** Messages delivered to `onMessages`. */
  messagesReceived: number
  /** Our own frames, skipped. */
  ownFramesSkipped: number
  /** Queued messages merged into a later one (same key, or superseded by a clear). */
  deduplicated: number
  /** Publish attempts that retried an earlier failure. */
  retried: number
  /** Publish attempts that failed. */
  publishFailures: number
  /** Incoming frames rejected as malformed, foreign or badly signed. */
  droppedInvalid: number
  /** Times the outbound queue overflowed and collapsed into one `cleared`. */
  overflows: number
  /** Gaps reported by the transport. */
  gaps: number
  /** Whether the transport is connected, as last reported. */
  connected: boolean
}

/** A new random sender id: 16 bytes from the CSPRNG as 32 lowercase hex characters. */
export function newSenderId(): string {
  return randomBytes(16).toString('hex')
}

const CLEARED: BackplaneMessage = Object.freeze({ type: 'cleared' })
const SENDER_ID_PATTERN = /^[0-9a-f]{32}$/

interface FlushWaiter {
  readonly seq: number
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

/** Batches, encodes, publishes and retries outgoing messages; decodes and filters incoming frames. */
export class BackplaneBus {
  private readonly backplane: Backplane
  private readonly handlers: BackplaneBusHandlers
  private readonly options: BackplaneBusOptions
  private readonly secret: KeyObject | undefined
  private readonly queue: OutboundQueue
  private readonly counters: Omit<BackplaneBusStats, 'connected'> = {
    framesSent: 0,
    messagesSent: 0,
    framesReceived: 0,
    messagesReceived: 0,
    ownFramesSkipped: 0,
    deduplicated: 0,
    retried: 0,
    publishFailures: 0,
    droppedInvalid: 0,
    overflows: 0,
    gaps: 0,
  }
  private connected = false
  private seq = 0
  private started = false
  private startPromise: Promise<void> | undefined
  private closePromise: Promise<void> | undefined
  /** Set once close gave up or finished: nothing is published or delivered any more. */
  private stopped = false
  private inflight: QueuedMessage[] | undefined
  private immediate: NodeJS.Immediate | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private attempt = 0
  private waiters: FlushWaiter[] = []

  /** Validates the options; throws `InvalidOptionsError`. Nothing is connected before `start()`. */
  constructor(options: BackplaneBusOptions) {
    validateOptions(options)
    this.options = options
    this.backplane = options.backplane
    this.handlers = options.handlers
    this.secret = options.secret === undefined ? undefined : createSecretKey(toSecretBytes(options.secret))
    const limit = this.sendLimit()
    if (limit < frameOverheadBytes(1, this.secret !== undefined) + 1) {
      throw new InvalidOptionsError(`a maximum frame size of ${limit} bytes cannot carry a message`, {
        source: this.backplane.name,
      })
    }
    this.queue = new OutboundQueue(options.maxQueue)
  }

  /** Connects to the channel; rejects with `BackplaneFailedError` when the transport cannot. */
  start(): Promise<void> {
    this.startPromise ??= this.connect()
    return this.startPromise
  }

  /** Queues a message for publishing (deduplicated, batched, flushed soon). Never throws. */
  announce(message: BackplaneMessage): void {
    if (this.stopped) {
      this.report(
        new BackplaneFailedError('message announced after the backplane bus was closed; not published'),
      )
      return
    }
    const result = this.queue.push(this.fit(message, this.sendLimit()), ++this.seq)
    this.counters.deduplicated += result.superseded
    if (result.overflowed) this.counters.overflows++
    this.schedule()
  }

  /** Resolves when every message announced so far is published (or merged into a published one). */
  flush(): Promise<void> {
    const seq = this.seq
    if (this.pendingOldestSeq() > seq) return Promise.resolve()
    if (this.stopped)
      return Promise.reject(new BackplaneFailedError('backplane bus is closed; messages were not published'))
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject })
      this.schedule()
    })
  }

  /** Flushes (for at most `closeTimeoutMs`), then closes the transport. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown()
    return this.closePromise
  }

  /** A snapshot of the counters. */
  stats(): BackplaneBusStats {
    return { ...this.counters, connected: this.connected }
  }

  private async connect(): Promise<void> {
    const listener: BackplaneListener = {
      onFrame: (frame) => this.receive(frame),
      onGap: (gap) => {
        if (this.stopped) return
        this.counters.gaps++
        this.call(() => this.handlers.onGap(gap))
      },
      onState: (state) => {
        if (this.stopped) return
        this.connected = state === 'connected'
        // A reconnect is the best moment to retry: skip the rest of the backoff.
        if (this.connected && this.retryTimer !== undefined) {
          clearTimeout(this.retryTimer)
          this.retryTimer = undefined
          this.counters.retried++
          void this.publishBatch()
        }
        this.call(() => this.handlers.onState(state))
      },
    }
    try {
      await this.backplane.connect(this.options.channel, listener)
    } catch (error) {
      throw new BackplaneFailedError(`could not connect to channel ${this.options.channel}`, {
        cause: error,
        source: this.backplane.name,
      })
    }
    this.started = true
    this.connected = true
    this.schedule()
  }

  private receive(frame: Uint8Array): void {
    if (this.stopped) return
    this.counters.framesReceived++
    let decoded: ReturnType<typeof decodeFrame>
    try {
      decoded = decodeFrame(frame, { secret: this.secret, maxFrameBytes: this.options.maxFrameBytes })
    } catch (error) {
      this.counters.droppedInvalid++
      this.report(asCacheplaneError(error, 'invalid frame', this.backplane.name))
      return
    }
    if (decoded.senderId === this.options.senderId) {
      this.counters.ownFramesSkipped++
      return
    }
    if (decoded.messages.length === 0) return
    this.counters.messagesReceived += decoded.messages.length
    this.call(() => this.handlers.onMessages(decoded.messages, decoded.senderId))
  }

  /** Largest frame to publish now: a transport may learn its limit on connect (NATS `max_payload`). */
  private sendLimit(): number {
    const transport = this.backplane.capabilities.maxFrameBytes
    return transport > 0 ? Math.min(this.options.maxFrameBytes, transport) : this.options.maxFrameBytes
  }

  /** Bytes of a message in a frame; `Infinity` when it cannot be encoded (ill-formed string, unknown type). */
  private sizeOf(message: BackplaneMessage): number {
    try {
      return encodedMessageSize(message)
    } catch {
      return Number.POSITIVE_INFINITY
    }
  }

  /**
   * Replaces a message that no frame can carry (a key too long for the frame size, an
   * ill-formed string) by the narrowest clear that covers it, so it is never lost.
   */
  private fit(message: BackplaneMessage, limit: number): BackplaneMessage {
    const budget = limit - frameOverheadBytes(1, this.secret !== undefined)
    if (this.sizeOf(message) <= budget) return message
    const keyed =
      typeof message === 'object' &&
      message !== null &&
      (message.type === 'changed' || message.type === 'removed')
    const regionCleared: BackplaneMessage | undefined =
      keyed && typeof message.region === 'string'
        ? { type: 'regionCleared', region: message.region }
        : undefined
    const replacement =
      regionCleared !== undefined && this.sizeOf(regionCleared) <= budget ? regionCleared : CLEARED
    this.report(
      new FrameInvalidError(
        `a message cannot be carried by a frame; announcing ${replacement.type} instead`,
        {
          source: this.backplane.name,
        },
      ),
    )
    return replacement
  }

  private schedule(): void {
    if (!this.started || this.stopped || this.queue.size === 0) return
    if (this.inflight !== undefined || this.immediate !== undefined || this.retryTimer !== undefined) return
    // Not unref'd: it runs on the next turn anyway, and pending messages should not be dropped by an exit.
    this.immediate = setImmediate(() => {
      this.immediate = undefined
      void this.publishBatch()
    })
  }

  private async publishBatch(): Promise<void> {
    if (this.stopped || this.inflight !== undefined) return
    const batch = this.queue.drain()
    if (batch.length === 0) return
    this.inflight = batch
    let sent = 0
    try {
      for (const frame of this.frames(batch)) {
        // Closed meanwhile: what is left was already reported as unpublished.
        if (this.stopped) return
        await this.backplane.publish(frame.bytes)
        sent += frame.count
        this.inflight = batch.slice(sent)
        this.counters.framesSent++
        this.counters.messagesSent += frame.count
        this.settleWaiters()
      }
    } catch (error) {
      this.inflight = undefined
      if (this.stopped) return
      this.counters.publishFailures++
      this.counters.overflows += this.queue.requeue(batch.slice(sent))
      this.report(
        new BackplaneFailedError(`publish on channel ${this.options.channel} failed; retrying`, {
          cause: error,
          source: this.backplane.name,
        }),
      )
      this.scheduleRetry()
      return
    }
    this.inflight = undefined
    this.attempt = 0
    this.schedule()
  }

  /** Splits a batch into encoded frames that each fit the maximum frame size (read per batch). */
  private *frames(batch: readonly QueuedMessage[]): Generator<{ bytes: Uint8Array; count: number }> {
    const signed = this.secret !== undefined
    const limit = this.sendLimit()
    const options = { secret: this.secret, maxFrameBytes: limit }
    const senderId = this.options.senderId
    let messages: BackplaneMessage[] = []
    let body = 0
    for (const entry of batch) {
      // The limit may have shrunk since the message was queued.
      const message = this.fit(entry.message, limit)
      const size = encodedMessageSize(message)
      if (messages.length > 0 && frameOverheadBytes(messages.length + 1, signed) + body + size > limit) {
        yield { bytes: encodeFrame({ senderId, messages }, options), count: messages.length }
        messages = []
        body = 0
      }
      messages.push(message)
      body += size
    }
    if (messages.length > 0)
      yield { bytes: encodeFrame({ senderId, messages }, options), count: messages.length }
  }

  private scheduleRetry(): void {
    const { baseDelayMs, maxDelayMs } = this.options.retry
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(this.attempt, 30))
    this.attempt++
    // Equal jitter: instances that failed together do not retry in lockstep.
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.counters.retried++
      void this.publishBatch()
    }, delay)
    this.retryTimer.unref()
  }

  private pendingOldestSeq(): number {
    let oldest = this.queue.oldestSeq()
    for (const entry of this.inflight ?? []) oldest = Math.min(oldest, entry.seq)
    return oldest
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return
    const oldest = this.pendingOldestSeq()
    const waiting: FlushWaiter[] = []
    for (const waiter of this.waiters) {
      if (waiter.seq < oldest) waiter.resolve()
      else waiting.push(waiter)
    }
    this.waiters = waiting
  }

  private async shutdown(): Promise<void> {
    if (this.started && this.pendingOldestSeq() <= this.seq) {
      let timer: NodeJS.Timeout | undefined
      // Ref'd on purpose and bounded: the process waits for close, but at most closeTimeoutMs.
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.closeTimeoutMs)
      })
      await Promise.race([this.flush().catch(() => undefined), deadline])
      clearTimeout(timer)
    }
    this.stopped = true
    if (this.immediate !== undefined) clearImmediate(this.immediate)
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.immediate = undefined
    this.retryTimer = undefined
    const unpublished = this.queue.drain().length + (this.inflight?.length ?? 0)
    this.inflight = undefined
    if (unpublished > 0) {
      const error = new BackplaneFailedError(
        `${unpublished} backplane message(s) could not be published before close on channel ${this.options.channel}`,
        { source: this.backplane.name },
      )
      this.report(error)
      for (const waiter of this.waiters) waiter.reject(error)
      this.waiters = []
    }
    this.connected = false
    try {
      await this.backplane.close()
    } catch (error) {
      this.report(
        new BackplaneFailedError('closing the backplane failed', {
          cause: error,
          source: this.backplane.name,
        }),
      )
    }
  }

  /** Runs a handler; a throw is reported through `onError`, never into the transport. */
  private call(fn: () => void): void {
    try {
      fn()
    } catch (error) {
      this.report(asCacheplaneError(error, 'a backplane handler threw', this.backplane.name))
    }
  }

  private report(error: CacheplaneError): void {
    try {
      this.handlers.onError(error)
    } catch {
      // onError is the last place an error can go; a throw here must still not reach the transport.
    }
  }
}

function asCacheplaneError(error: unknown, message: string, source: string): CacheplaneError {
  return error instanceof CacheplaneError
    ? error
    : new BackplaneFailedError(message, { cause: error, source })
}

function toSecretBytes(secret: string | Uint8Array): Uint8Array {
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret
}

function validateOptions(options: BackplaneBusOptions): void {
  const fail = (message: string): never => {
    throw new InvalidOptionsError(`backplane bus: ${message}`)
  }
  if (typeof options !== 'object' || options === null) fail('options must be an object')
  const { backplane, channel, senderId, secret, maxQueue, maxFrameBytes, retry, closeTimeoutMs, handlers } =
    options
  if (typeof backplane !== 'object' || backplane === null || typeof backplane.publish !== 'function') {
    fail('backplane must implement the Backplane contract')
  }
  if (typeof backplane.capabilities?.maxFrameBytes !== 'number') {
    fail('backplane.capabilities.maxFrameBytes must be a number')
  }
  if (typeof channel !== 'string' || channel.length === 0) fail('channel must be a non-empty string')
  if (typeof senderId !== 'string' || !SENDER_ID_PATTERN.test(senderId)) {
    fail('senderId must be 32 lowercase hex characters')
  }
  if (secret !== undefined) {
    const valid = typeof secret === 'string' || secret instanceof Uint8Array
    if (!valid || secret.length === 0) fail('secret must be a non-empty string or Uint8Array')
  }
  if (!Number.isSafeInteger(maxQueue) || maxQueue < 1) fail('maxQueue must be a positive integer')
  if (typeof maxFrameBytes !== 'number' || !(maxFrameBytes >= 1)) {
    fail('maxFrameBytes must be a positive number of bytes (Infinity for no limit)')
  }
  const { baseDelayMs, maxDelayMs } = retry ?? {}
  if (typeof baseDelayMs !== 'number' || !(baseDelayMs > 0) || !Number.isFinite(baseDelayMs)) {
    fail('retry.baseDelayMs must be a positive number of ms')
  }
  if (
    typeof maxDelayMs !== 'number' ||
    !Number.isFinite(maxDelayMs) ||
    maxDelayMs < (baseDelayMs as number)
  ) {
    fail('retry.maxDelayMs must be a number of ms >= retry.baseDelayMs')
  }
  if (typeof closeTimeoutMs !== 'number' || !Number.isFinite(closeTimeoutMs) || closeTimeoutMs < 0) {
    fail('closeTimeoutMs must be a non-negative number of ms')
  }
  if (typeof handlers !== 'object' || handlers === null) fail('handlers are required')
}
