/**
 * The in-process backplane hub under the scheduler. Each instance's `memoryBackplane` is
 * given its own facade of one {@link ScheduledHub}; a published frame becomes one
 * `deliver` task per other instance, so frames reach instances late; in one sender's order
 * when the history's connections are ordered (as real transports deliver them), in any
 * order otherwise (messages are key-only invalidations: order must not matter). A cut drops the
 * frames pending for an instance and schedules the gap its transport reports on reconnect
 * (or holds them, to redeliver them before a recovered gap).
 *
 * With `behindWrites`, a frame first travels on its sender's store request connection (a
 * PUBLISH sent behind a SET on one Redis connection): it reaches the server, and is
 * published, only once the store requests sent before it have run.
 */
import type { BackplaneMessage } from '../../src/backplane/messages.js'
import { decodeFrame } from '../../src/backplane/frame-codec.js'
import type { BackplaneHub, HubSubscriber } from '../../src/backplane/memory-backplane.js'
import { type Slot, slotOf, slotsIn } from './history.js'
import type { FrameRecord, Recorder } from './record.js'
import type { Scheduler } from './scheduler.js'

/** Short text of a message for the timeline. */
function describe(message: BackplaneMessage): string {
  if (message.type === 'cleared') return 'cleared'
  if (message.type === 'regionCleared') return `regionCleared ${message.region}`
  if (message.type === 'tagInvalidated') return `tagInvalidated ${message.tag}`
  const slot = slotOf(message.key, message.region) ?? message.key
  return message.type === 'removed' ? `removed ${slot}` : `${message.change} ${slot}`
}

/** The slots a frame invalidates. */
function invalidated(messages: readonly BackplaneMessage[]): ReadonlySet<Slot> | 'all' {
  const slots = new Set<Slot>()
  for (const message of messages) {
    if (message.type === 'cleared') return 'all'
    // Every write carries the model's one tag: its invalidation reaches every slot.
    if (message.type === 'tagInvalidated') return 'all'
    if (message.type === 'regionCleared') for (const slot of slotsIn(message.region)) slots.add(slot)
    else {
      const slot = slotOf(message.key, message.region)
      if (slot !== undefined) slots.add(slot)
    }
  }
  return slots
}

/** One channel's subscribers, one per instance, with scheduled delivery. */
export class ScheduledHub {
  readonly #subscribers = new Map<number, HubSubscriber>()
  readonly #scheduler: Scheduler
  readonly #record: Recorder
  readonly #gap: (instance: number, recovered: boolean) => void
  readonly #behindWrites: boolean
  #published = 0

  /** `gap(i, recovered)` reports a gap to instance i's backplane listener. */
  constructor(
    scheduler: Scheduler,
    record: Recorder,
    gap: (instance: number, recovered: boolean) => void,
    behindWrites = false,
  ) {
    this.#scheduler = scheduler
    this.#record = record
    this.#gap = gap
    this.#behindWrites = behindWrites
  }

  /** The hub as instance `instance`'s memory backplane sees it. */
  forInstance(instance: number): BackplaneHub {
    const hub = this
    return {
      subscribe: (_channel, subscriber) => {
        this.#subscribers.set(instance, subscriber)
        return () => {
          if (this.#subscribers.get(instance) === subscriber) this.#subscribers.delete(instance)
        }
      },
      publish: (_channel, frame) => this.#publish(instance, frame),
      subscriberCount: () => this.#subscribers.size,
      get framesPublished() {
        return hub.#published
      },
    }
  }

  /**
   * Instance `instance` is cut off: the frames pending for it are lost and its transport
   * reports an unrecovered gap later; or, with `replay`, they are redelivered (first) when
   * the transport reports the gap, as recovered.
   */
  cut(instance: number, replay: boolean): void {
    const lost = this.#scheduler.discard((task) => task.kind === 'deliver' && task.instance === instance)
    this.#record.log(
      `i${instance} is cut off the backplane: ${lost.length} frame(s) to it ${replay ? 'held' : 'lost'}`,
    )
    this.#scheduler.add({
      kind: 'gap',
      instance,
      label: `i${instance} hears a gap`,
      run: () => {
        if (replay) for (const task of lost) task.run(false)
        const t = this.#record.log(
          `i${instance} hears a gap (${replay ? 'recovered by replay' : 'not recovered'})`,
        )
        if (!replay) this.#record.gaps.push({ instance, t })
        this.#gap(instance, replay)
      },
    })
  }

  #publish(from: number, frame: Uint8Array): void {
    this.#published++
    const { messages } = decodeFrame(frame)
    const text = messages.map(describe).join(', ')
    const bytes = new Uint8Array(frame)
    if (!this.#behindWrites) {
      this.#fanOut(from, messages, text, bytes)
      return
    }
    this.#record.log(`i${from} sends [${text}] behind its store requests`)
    this.#scheduler.add({
      kind: 'exec',
      instance: from,
      connection: `i${from} requests`,
      label: `i${from}'s [${text}] reaches the server`,
      // Like a delivery it ignores faults (a refused PUBLISH would be retried by the bus).
      run: () => this.#fanOut(from, messages, text, bytes),
    })
  }

  /** The frame is published: one delivery per other subscriber. */
  #fanOut(from: number, messages: readonly BackplaneMessage[], text: string, bytes: Uint8Array): void {
    const published = this.#record.log(`i${from} publishes [${text}]`)
    const slots = invalidated(messages)
    for (const [to, subscriber] of this.#subscribers) {
      if (to === from) continue // core skips its own frames anyway
      const record: FrameRecord = { from, to, published, slots }
      this.#record.frames.push(record)
      this.#scheduler.add({
        kind: 'deliver',
        instance: to,
        connection: `i${from} -> i${to}`,
        label: `i${to} receives i${from}'s [${text}]`,
        run: () => {
          if (this.#subscribers.get(to) !== subscriber) return
          record.delivered = this.#record.log(`i${to} receives i${from}'s [${text}]`)
          subscriber(new Uint8Array(bytes))
        },
      })
    }
  }
}
