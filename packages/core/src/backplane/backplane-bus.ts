/**
 * The backplane bus: everything core does around a dumb transport, written once.
 *
 * Outbound, `announce` queues a key-only message in an {@link OutboundQueue}
 * (deduplicated, bounded, collapsing into one `cleared` on overflow). When the bus is
 * idle the queue is flushed in a microtask, once the code that announced has run, so
 * announces made together (a bulk call, the replies of one socket read) travel in one
 * frame and a lone write is published at once; waiting for the next turn of the event
 * loop instead cost a lone write's propagation about a quarter of a millisecond. Under
 * load at most one flush is in flight and the next batch accumulates meanwhile. A batch
 * is split into frames that fit the smaller of our and the transport's maximum frame
 * size. A failed publish puts its unsent messages back in front of the queue and is
 * retried with exponential backoff and jitter until it succeeds or the bus is closed: a
 * message is published, merged into one that covers it, or reported as lost at close,
 * never dropped silently.
 *
 * Inbound, every frame is decoded (and verified, with a secret) before anything is
 * delivered; invalid frames are counted and reported and deliver nothing; our own frames
 * are skipped. Nothing a handler or a frame does can throw into the transport.
 *
 * Each bus holds one subscription of its backplane, so one backplane object can serve
 * every cache of a process; closing the bus closes that subscription only.
 */
import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto'
import type {
  Backplane,
  BackplaneListener,
  BackplaneState,
  BackplaneSubscription,
} from '../contracts/backplane.js'
import { Backoff } from '../backoff.js'
import { BackplaneFailedError, CacheplaneError, InvalidOptionsError } from '../errors.js'
import { claimBackplane } from './backplane-claims.js'
import {
  type BackplaneBusHandlers,
  type BackplaneBusOptions,
  type BackplaneBusStats,
  toSecretBytes,
  validateBusOptions,
} from './bus-options.js'
import { decodeFrame, isFrameFrom, senderIdBytes } from './frame-codec.js'
import { FramePacker } from './frame-packer.js'
import type { BackplaneMessage } from './messages.js'
import { type OutboundBatch, OutboundQueue } from './outbound-queue.js'

export type { BackplaneBusHandlers, BackplaneBusOptions, BackplaneBusStats } from './bus-options.js'

/** A new random sender id: 16 bytes from the CSPRNG as 32 lowercase hex characters. */
export function newSenderId(): string {
  return randomBytes(16).toString('hex')
}

interface FlushWaiter {
  readonly seq: number
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

/** Batches, encodes, publishes and retries outgoing messages; decodes and filters incoming frames. */
export class BackplaneBus {
  private readonly backplane: Backplane
  /** Our channel's subscription, once `connect` returned it. */
  private subscription: BackplaneSubscription | undefined
  private readonly handlers: BackplaneBusHandlers
  private readonly options: BackplaneBusOptions
  private readonly secret: KeyObject | undefined
  private readonly queue: OutboundQueue
  private readonly packer: FramePacker
  /** Our sender id as the 16 bytes a frame carries, for skipping our own frames by their header. */
  private readonly sender: Uint8Array
  private readonly counters: Omit<BackplaneBusStats, 'connected' | 'state' | 'overflows' | 'queued'> = {
    framesSent: 0,
    messagesSent: 0,
    framesReceived: 0,
    messagesReceived: 0,
    ownFramesSkipped: 0,
    deduplicated: 0,
    retried: 0,
    publishFailures: 0,
    droppedInvalid: 0,
    gaps: 0,
    suspects: 0,
  }
  private connected = false
  private state: BackplaneState = 'disconnected'
  private seq = 0
  private started = false
  /** The first connect() rejected; a later 'connected' from the transport starts the bus. */
  private connectFailed = false
  private startPromise: Promise<void> | undefined
  private closePromise: Promise<void> | undefined
  /** Set once close gave up or finished: nothing is published or delivered any more. */
  private stopped = false
  /** The batch being published; its messages before `inflightFrom` are published already. */
  private inflight: OutboundBatch | undefined
  private inflightFrom = 0
  /** A flush is queued as a microtask (cleared by close, which makes the microtask a no-op). */
  private flushQueued = false
  private retryTimer: NodeJS.Timeout | undefined
  private readonly backoff: Backoff
  private waiters: FlushWaiter[] = []

  /** Validates the options; throws `InvalidOptionsError`. Nothing is connected before `start()`. */
  constructor(options: BackplaneBusOptions) {
    validateBusOptions(options)
    this.options = options
    this.backplane = options.backplane
    this.handlers = options.handlers
    this.backoff = new Backoff(options.retry)
    this.secret = options.secret === undefined ? undefined : createSecretKey(toSecretBytes(options.secret))
    this.packer = new FramePacker(
      this.backplane,
      options.maxFrameBytes,
      options.senderId,
      this.secret,
      (error) => this.report(error),
    )
    if (this.packer.limit() < this.packer.minimumLimit()) {
      throw new InvalidOptionsError(
        `a maximum frame size of ${this.packer.limit()} bytes cannot carry a message`,
        {
          source: this.backplane.name,
        },
      )
    }
    this.queue = new OutboundQueue(options.maxQueue)
    this.sender = senderIdBytes(options.senderId)
    claimBackplane(this.backplane)
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
    const fitted = this.packer.fit(message)
    this.counters.deduplicated += this.queue.push(fitted, ++this.seq, this.packer.fittedSize)
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

  /** Flushes (for at most `closeTimeoutMs`), then closes our channel's subscription. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown()
    return this.closePromise
  }

  /** A snapshot of the counters. */
  stats(): BackplaneBusStats {
    const inflight = this.inflight === undefined ? 0 : this.inflight.messages.length - this.inflightFrom
    return {
      ...this.counters,
      overflows: this.queue.overflows,
      queued: this.queue.size + inflight,
      connected: this.connected,
      state: this.state,
    }
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
        this.state = state
        if (state === 'suspect') this.counters.suspects++
        // A transport whose first connect() failed may keep trying on its own (the contract
        // allows it): its later 'connected' is our start, or nothing would ever be published.
        if (this.connected && !this.started && this.connectFailed) {
          this.started = true
          this.schedule()
        }
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
      this.subscription = this.backplane.connect(this.options.channel, listener)
      await this.subscription.ready
    } catch (error) {
      this.connectFailed = true
      throw new BackplaneFailedError(`could not connect to channel ${this.options.channel}`, {
        cause: error,
        source: this.backplane.name,
      })
    }
    this.started = true
    this.connected = true
    this.state = 'connected'
    this.schedule()
  }

  private receive(frame: Uint8Array): void {
    if (this.stopped) return
    this.counters.framesReceived++
    // Every transport echoes our frames back to us. Decoding one only to skip it was ~5% of
    // a busy writer's CPU, so without a secret its header decides. With a secret the full
    // decode runs: a frame naming us is only ours if its signature says so.
    if (
      this.secret === undefined &&
      frame instanceof Uint8Array &&
      isFrameFrom(frame, this.sender, this.options.maxFrameBytes)
    ) {
      this.counters.ownFramesSkipped++
      return
    }
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
    this.call(() => this.handlers.onMessages(decoded.messages, decoded.senderId, decoded.sentAt))
  }

  private schedule(): void {
    // Called on every announce: after the first of a run, `flushQueued` is set and this returns early.
    if (this.flushQueued || this.inflight !== undefined || this.retryTimer !== undefined) return
    if (!this.started || this.stopped || this.queue.size === 0) return
    this.flushQueued = true
    queueMicrotask(this.onFlush)
  }

  /** One bound callback for every flush, not a closure per scheduled flush. */
  private readonly onFlush = (): void => {
    if (!this.flushQueued) return
    this.flushQueued = false
    void this.publishBatch()
  }

  private async publishBatch(): Promise<void> {
    const subscription = this.subscription
    if (this.stopped || this.inflight !== undefined || subscription === undefined) return
    if (this.queue.size === 0) return
    const batch = this.queue.drain()
    this.inflight = batch
    this.inflightFrom = 0
    try {
      for (const frame of this.packer.frames(batch, 0)) {
        // Closed meanwhile: what is left was already reported as unpublished.
        if (this.stopped) return
        await subscription.publish(frame.bytes)
        this.inflightFrom += frame.count
        this.counters.framesSent++
        this.counters.messagesSent += frame.count
        this.settleWaiters()
      }
    } catch (error) {
      this.inflight = undefined
      if (this.stopped) return
      this.counters.publishFailures++
      // Counted in the queue's `overflows`, which stats() reports.
      this.queue.requeue(batch, this.inflightFrom)
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
    this.backoff.reset()
    this.schedule()
  }

  private scheduleRetry(): void {
    // A timer, not an awaited wait: a reconnect cancels it to retry at once (see onState).
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      this.counters.retried++
      void this.publishBatch()
    }, this.backoff.next())
    this.retryTimer.unref()
  }

  private pendingOldestSeq(): number {
    let oldest = this.queue.oldestSeq()
    const inflight = this.inflight
    if (inflight !== undefined) {
      for (let i = this.inflightFrom; i < inflight.seqs.length; i++)
        oldest = Math.min(oldest, inflight.seqs[i]!)
    }
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
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.flushQueued = false
    this.retryTimer = undefined
    const unpublished =
      this.queue.size + (this.inflight === undefined ? 0 : this.inflight.messages.length - this.inflightFrom)
    this.queue.drain()
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
    this.state = 'disconnected'
    try {
      // Our channel only: the backplane may be serving other caches.
      await this.subscription?.close()
    } catch (error) {
      this.report(
        new BackplaneFailedError(`unsubscribing from channel ${this.options.channel} failed`, {
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
