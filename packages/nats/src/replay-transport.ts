import { Backoff, type BackplaneGap, type BackplaneListener, InvalidOptionsError } from '@cacheplane/core'
import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { FrameTransport } from './frame-transport.js'
import type { NatsConnectionLike } from './nats-connection.js'
import type { ReplaySettings } from './nats-options.js'
import {
  ensureStream,
  JETSTREAM_BACKOFF,
  type JetStreamModule,
  retryWithin,
  streamIdentity,
  streamInfo,
} from './replay-stream.js'

/**
 * Replay over JetStream. Frames are published into a stream that holds only this
 * channel's subject and keeps them for `maxAgeMs`; every instance reads the stream
 * through an ordered consumer and remembers `lastSeq`, the stream sequence of the
 * last frame it handed to core. Because the stream holds nothing else, sequences
 * are contiguous: a delivered sequence above `lastSeq + 1` means frames vanished
 * (retention) and is reported as an unrecovered gap.
 *
 * After a reconnect the consumer is restarted at `lastSeq + 1` and the stream's
 * state decides the outcome:
 * - stream gone, recreated or reset below `lastSeq` -> `stream-missing`, not recovered;
 * - `first_seq > lastSeq + 1` (missed frames already expired) -> `retention-exceeded`, not recovered;
 * - otherwise every frame up to the stream's `last_seq` is delivered through
 *   `onFrame` first, then the gap is reported with `recovered: true`.
 * Frames seen twice (sequence <= `lastSeq`) are dropped, so nothing is applied twice;
 * replaying one would be harmless anyway, since evictions are idempotent.
 */

async function loadJetStream(): Promise<JetStreamModule> {
  try {
    return await import('@nats-io/jetstream')
  } catch (cause) {
    throw new InvalidOptionsError(
      'natsBackplane: replay mode needs the @nats-io/jetstream package; install it next to @nats-io/transport-node',
      { cause },
    )
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Starts the JetStream transport: the stream exists and the consumer runs when this resolves. */
export async function startReplayTransport(
  connection: NatsConnectionLike,
  subject: string,
  settings: ReplaySettings,
  listener: BackplaneListener,
  isConnected: () => boolean,
): Promise<FrameTransport> {
  const mod = await loadJetStream()
  // The JetStream API drives the v3 connection's internals; the structural type only names what core NATS needs.
  const nc = connection as unknown as NatsConnection
  const fatal = (err: unknown) =>
    err instanceof InvalidOptionsError || (err instanceof Error && err.name === 'JetStreamNotEnabled')
  const jsm = await retryWithin(settings.timeoutMs, () => mod.jetstreamManager(nc), fatal)
  const js = mod.jetstream(nc)
  const transport = new ReplayTransport(mod, jsm, js, subject, settings, listener, isConnected)
  await retryWithin(settings.timeoutMs, () => transport.start(), fatal)
  return transport
}

class ReplayTransport implements FrameTransport {
  private lastSeq = 0
  private streamId = ''
  private messages: ConsumerMessages | undefined
  private consumer: Consumer | undefined
  private generation = 0
  private waiter: { target: number; resolve: () => void; cancel: () => void } | undefined
  private queue: Promise<void> = Promise.resolve()
  private stopped = false
  /** Aborted by stop(), so that a resync waiting out its backoff ends at once. */
  private readonly stopping = new AbortController()
  /** A loss found by a resync whose consumer restart then failed: the retry must still report it. */
  private unreported: BackplaneGap | undefined

  constructor(
    private readonly mod: JetStreamModule,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly subject: string,
    private readonly settings: ReplaySettings,
    private readonly listener: BackplaneListener,
    private readonly isConnected: () => boolean,
  ) {}

  async start(): Promise<void> {
    const info = await ensureStream(this.mod, this.jsm, this.subject, this.settings)
    this.streamId = streamIdentity(info)
    this.lastSeq = info.state.last_seq
    await this.consumeFrom(this.lastSeq + 1)
  }

  async publish(frame: Uint8Array): Promise<void> {
    try {
      // The PubAck means the stream stored the frame: every instance will see it, now or on replay.
      await this.js.publish(this.subject, frame)
    } catch (err) {
      // A deleted stream makes publishes fail with "no responders": recreate it so core's retry lands.
      this.enqueue(async () => {
        if (this.isConnected() && (await streamInfo(this.jsm, this.settings.stream)) === null)
          await this.resync('stream-missing', describe(err))
      })
      throw err
    }
  }

  reconnected(reason: 'reconnect' | 'failover' | 'silence', detail: string): void {
    this.enqueue(() => this.resync(reason, detail))
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.stopping.abort()
    this.generation++
    this.waiter?.cancel()
    this.waiter = undefined
    await this.dropConsumer()
  }

  /** Stops the running consumer and deletes it on the server rather than leaving it to expire. */
  private async dropConsumer(): Promise<void> {
    const { messages, consumer } = this
    this.messages = undefined
    this.consumer = undefined
    await messages?.close()
    // Not awaited: after a failover the old consumer may sit on a dead node, and its delete would
    // only time out. Best effort: an ephemeral consumer nobody pulls from expires by itself.
    consumer?.delete().catch(() => {})
  }

  /** Runs resyncs one after another: two reconnects in a row must not race on `lastSeq`. */
  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch(() => {
      // resync reports its own failures as gaps; a failed stream check is retried by the next publish.
    })
  }

  private async resync(reason: string, detail: string): Promise<void> {
    // Failures inside `timeoutMs` are retried quietly (a JetStream leader election takes
    // seconds); past it core is told (`replay-failed`, it clears) and we keep trying to resume.
    const deadline = Date.now() + this.settings.timeoutMs
    let reported = false
    const backoff = new Backoff(JETSTREAM_BACKOFF)
    while (!this.stopped) {
      // While disconnected there is nothing to do: the next `reconnect` queues another resync.
      if (!this.isConnected()) return
      try {
        const waitMs = reported ? this.settings.timeoutMs : Math.max(deadline - Date.now(), 0)
        this.listener.onGap(await this.catchUp(reason, detail, waitMs))
        return
      } catch (err) {
        if (!reported && Date.now() >= deadline) {
          reported = true
          // Unrecovered: core clears, which also covers any loss found on the way.
          this.unreported = undefined
          this.listener.onGap({ reason: 'replay-failed', recovered: false, detail: describe(err) })
        }
        if (!(await backoff.wait(this.stopping.signal))) return
      }
    }
  }

  private async catchUp(reason: string, detail: string, waitMs: number): Promise<BackplaneGap> {
    const name = this.settings.stream
    const before = await streamInfo(this.jsm, name)
    if (before === null || streamIdentity(before) !== this.streamId || before.state.last_seq < this.lastSeq) {
      const info = before ?? (await ensureStream(this.mod, this.jsm, this.subject, this.settings))
      const what = before === null ? 'was missing and has been recreated' : 'was recreated or purged'
      this.unreported = {
        reason: 'stream-missing',
        recovered: false,
        detail: `${detail}; stream ${name} ${what}`,
      }
      this.streamId = streamIdentity(info)
      this.lastSeq = info.state.last_seq
    } else if (before.state.first_seq > this.lastSeq + 1) {
      const lost = before.state.first_seq - this.lastSeq - 1
      this.unreported = {
        reason: 'retention-exceeded',
        recovered: false,
        detail: `${detail}; ${lost} missed frame(s) outlived the stream's ${this.settings.maxAgeMs} ms retention`,
      }
      // Whatever is left in the stream is older than the clear core is about to do: skip it.
      this.lastSeq = before.state.last_seq
    }
    const target = before?.state.last_seq ?? this.lastSeq
    const missed = Math.max(target - this.lastSeq, 0)
    await this.consumeFrom(this.lastSeq + 1)
    // Frames delivered before the wait starts already moved `lastSeq`; the wait checks it first.
    if (this.unreported === undefined) await this.waitForSequence(target, waitMs)
    const gap = this.unreported ?? {
      reason,
      recovered: true,
      detail: `${detail}; replayed ${missed} frame(s) from stream ${name}`,
    }
    this.unreported = undefined
    return gap
  }

  private waitForSequence(target: number, waitMs: number): Promise<void> {
    if (this.lastSeq >= target) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined
        reject(
          new Error(`replay did not reach stream sequence ${target} in time (${this.settings.timeoutMs} ms)`),
        )
      }, waitMs)
      this.waiter = {
        target,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        cancel: () => {
          clearTimeout(timer)
          reject(new Error('the backplane was closed during a replay'))
        },
      }
    })
  }

  /** Replaces the running consumer with an ordered consumer that starts at stream sequence `from`. */
  private async consumeFrom(from: number): Promise<void> {
    const generation = ++this.generation
    await this.dropConsumer()
    const consumer = await this.js.consumers.get(this.settings.stream, {
      deliver_policy: this.mod.DeliverPolicy.StartSequence,
      opt_start_seq: from,
    })
    if (generation !== this.generation) {
      consumer.delete().catch(() => {})
      return
    }
    this.consumer = consumer
    const messages = await consumer.consume({
      callback: (msg: JsMsg) => this.deliver(generation, msg),
      // Short pulls with frequent idle heartbeats: a consumer lost on a dead cluster node while
      // our own connection stayed up is noticed (two missed heartbeats) and recreated in seconds.
      expires: 10_000,
      idle_heartbeat: 2_000,
    })
    this.messages = messages
    void this.watchConsumer(generation, messages)
  }

  private deliver(generation: number, msg: JsMsg): void {
    if (generation !== this.generation) return
    const seq = msg.info.streamSequence
    if (seq <= this.lastSeq) return
    const skipped = seq - this.lastSeq - 1
    this.lastSeq = seq
    this.listener.onFrame(msg.data)
    if (skipped > 0) {
      this.listener.onGap({
        reason: 'retention-exceeded',
        recovered: false,
        detail: `${skipped} frame(s) left stream ${this.settings.stream} before they were delivered`,
      })
    }
    if (this.waiter !== undefined && this.lastSeq >= this.waiter.target) {
      const { resolve } = this.waiter
      this.waiter = undefined
      resolve()
    }
  }

  private async watchConsumer(generation: number, messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (generation !== this.generation) return
      // The consumer (or its whole stream) was deleted under a live connection. The ordered
      // consumer would only notice after missed heartbeats and cannot follow a recreated
      // stream: resync now, which replays from `lastSeq` or reports what was lost.
      if ((status.type === 'consumer_deleted' || status.type === 'stream_not_found') && this.isConnected()) {
        this.enqueue(() => this.resync('consumer-lost', `${status.type} on stream ${this.settings.stream}`))
        return
      }
      // The ordered consumer recreated itself after `lastSeq` (missed heartbeats). Right if the
      // stream is the same one; if it was recreated meanwhile, those sequences mean nothing.
      if (status.type === 'ordered_consumer_recreated') {
        this.enqueue(async () => {
          const info = await streamInfo(this.jsm, this.settings.stream)
          if (info === null || streamIdentity(info) !== this.streamId || info.state.last_seq < this.lastSeq)
            await this.resync('consumer-lost', `stream ${this.settings.stream} changed under the consumer`)
        })
      }
    }
  }
}
