/**
 * The bounded, deduplicating queue of messages waiting to be published.
 *
 * Receivers only evict, so a queue may merge messages as long as what it finally
 * sends evicts at least everything the original messages would have:
 * - the same type + change kind + region + key is one message (a later one replaces the
 *   earlier one and moves to the end, so the queue keeps the order of last writes). Change
 *   kinds are never merged: receivers emit one event per kind (`add`, `set`, `update`,
 *   `expire`), and an `add` folded into a later `update` would be an `add` event lost;
 * - `cleared` supersedes everything queued before it;
 * - `regionCleared(r)` supersedes queued keyed messages of region `r`;
 * - on overflow the whole queue collapses into one `cleared`.
 *
 * Every entry carries a sequence number: the oldest announce it stands for (a message
 * that supersedes others inherits their oldest number), so `flush()` can wait for
 * "everything queued so far" even when what was queued has been merged away.
 *
 * Shape, from profiles of a writer doing ~300k sets/s: one `push` per write is the hot
 * path. A dedup identity string per message (`type|region|key`) and a result object per
 * push were ~9% of the writer's CPU, and the per-message entry objects kept alive until
 * the flush added to the garbage collector's share (~30%). So the queue keeps parallel
 * arrays in queue order (a superseded slot becomes a hole, compacted when holes outnumber
 * live entries), and finds a keyed message by type, then region, then key in nested
 * maps, whose keys are the strings the caller already has: no string is built per push.
 */
import type { BackplaneMessage, ChangeKind } from './messages.js'

/** Messages drained from the queue, in order, with what the queue knows about each. */
export interface OutboundBatch {
  /** The messages, oldest first. */
  readonly messages: BackplaneMessage[]
  /** `seqs[i]`: the oldest announce sequence number `messages[i]` covers. */
  readonly seqs: number[]
  /** `sizes[i]`: bytes `messages[i]` takes in a frame (as given to `push`). */
  readonly sizes: number[]
}

const CLEARED: BackplaneMessage = Object.freeze({ type: 'cleared' })
/** Bytes of a `cleared` message in a frame (its type byte). */
const CLEARED_SIZE = 1
/** Holes are compacted once they outnumber live entries and this many exist. */
const COMPACT_MIN_HOLES = 1024

/** region (undefined: none) -> key -> slot. */
type KeyedIndex = Map<string | undefined, Map<string, number>>

/** Insertion-ordered, deduplicating, bounded message queue. */
export class OutboundQueue {
  /** Queue order; `undefined` marks a superseded slot (a hole). */
  private messages: (BackplaneMessage | undefined)[] = []
  private seqs: number[] = []
  private sizes: number[] = []
  private live = 0
  /** Slots of queued `changed` messages, by change kind. */
  private readonly changed: Record<ChangeKind, KeyedIndex> = {
    add: new Map(),
    set: new Map(),
    update: new Map(),
    expire: new Map(),
  }
  /** Slots of queued `removed` messages. */
  private readonly removed: KeyedIndex = new Map()
  /** Slots of queued `regionCleared` messages, by region. */
  private readonly regionCleared = new Map<string, number>()
  /** Times a push overflowed the queue and collapsed it into one `cleared`. */
  overflows = 0

  /** @param maxSize distinct messages kept before the queue collapses into one `cleared`. */
  constructor(private readonly maxSize: number) {}

  /** Number of distinct queued messages. */
  get size(): number {
    return this.live
  }

  /**
   * Queues a message covering announce `seq` that takes `size` bytes in a frame, merging
   * it with what is queued. Returns how many queued messages it replaced or superseded
   * (an overflow is counted in {@link overflows}).
   */
  push(message: BackplaneMessage, seq: number, size: number): number {
    let superseded = 0
    let oldest = seq
    let previous: number | undefined
    let inner: Map<string, number> | undefined
    switch (message.type) {
      case 'changed':
      case 'removed': {
        const index = message.type === 'changed' ? this.changed[message.change] : this.removed
        inner = index.get(message.region)
        if (inner === undefined) {
          inner = new Map()
          index.set(message.region, inner)
        }
        previous = inner.get(message.key)
        break
      }
      case 'regionCleared': {
        for (const index of this.keyedIndexes()) {
          const slots = index.get(message.region)
          if (slots === undefined) continue
          for (const slot of slots.values()) {
            oldest = Math.min(oldest, this.seqs[slot]!)
            this.hole(slot)
            superseded++
          }
          index.delete(message.region)
        }
        previous = this.regionCleared.get(message.region)
        break
      }
      case 'cleared':
        if (this.live !== 0) {
          oldest = Math.min(oldest, this.oldestSeq())
          superseded = this.live
          this.reset()
        }
        break
    }
    if (previous !== undefined) {
      oldest = Math.min(oldest, this.seqs[previous]!)
      this.hole(previous)
      superseded++
    } else if (this.live >= this.maxSize) {
      // The collapsed `cleared` evicts everything, the new message included.
      oldest = Math.min(oldest, this.oldestSeq())
      this.reset()
      this.append(CLEARED, oldest, CLEARED_SIZE)
      this.overflows++
      return superseded
    }
    const slot = this.append(message, oldest, size)
    if (inner !== undefined) inner.set((message as { key: string }).key, slot)
    else if (message.type === 'regionCleared') this.regionCleared.set(message.region, slot)
    if (this.messages.length - this.live > COMPACT_MIN_HOLES && this.messages.length > 2 * this.live) {
      this.compact()
    }
    return superseded
  }

  /** Removes and returns every queued message, oldest first. */
  drain(): OutboundBatch {
    if (this.messages.length !== this.live) this.compact()
    const batch = {
      messages: this.messages as BackplaneMessage[],
      seqs: this.seqs,
      sizes: this.sizes,
    }
    this.messages = []
    this.seqs = []
    this.sizes = []
    this.clearIndexes()
    return batch
  }

  /**
   * Puts the messages of `failed` from index `from` on (a publish that failed) back in
   * front of what was queued since, then replays the newer messages over them so
   * supersession still applies. Returns how many times the queue overflowed doing so.
   */
  requeue(failed: OutboundBatch, from: number): number {
    const newer = this.drain()
    const before = this.overflows
    for (let i = from; i < failed.messages.length; i++) {
      this.push(failed.messages[i]!, failed.seqs[i]!, failed.sizes[i]!)
    }
    for (let i = 0; i < newer.messages.length; i++) {
      this.push(newer.messages[i]!, newer.seqs[i]!, newer.sizes[i]!)
    }
    return this.overflows - before
  }

  /** Smallest sequence number still queued; `Infinity` when empty. */
  oldestSeq(): number {
    let oldest = Number.POSITIVE_INFINITY
    const { messages, seqs } = this
    for (let i = 0; i < messages.length; i++) {
      if (messages[i] !== undefined && seqs[i]! < oldest) oldest = seqs[i]!
    }
    return oldest
  }

  private append(message: BackplaneMessage, seq: number, size: number): number {
    this.live++
    this.seqs.push(seq)
    this.sizes.push(size)
    return this.messages.push(message) - 1
  }

  /** Turns a slot into a hole (its index entry is the caller's business). */
  private hole(slot: number): void {
    this.messages[slot] = undefined
    this.live--
  }

  private reset(): void {
    this.messages.length = 0
    this.seqs.length = 0
    this.sizes.length = 0
    this.live = 0
    this.clearIndexes()
  }

  /** Every index of keyed messages: one per change kind, and `removed`. */
  private keyedIndexes(): KeyedIndex[] {
    const { add, set, update, expire } = this.changed
    return [add, set, update, expire, this.removed]
  }

  /**
   * Empties the indexes. Only the non-empty ones: V8's `Map.prototype.clear` allocates a
   * new backing table even for an empty map, and a writer drains once per publish (at
   * concurrency 1, once per write: 4% of its CPU when every index was cleared).
   */
  private clearIndexes(): void {
    this.live = 0
    const { add, set, update, expire } = this.changed
    clearIfUsed(add)
    clearIfUsed(set)
    clearIfUsed(update)
    clearIfUsed(expire)
    clearIfUsed(this.removed)
    clearIfUsed(this.regionCleared)
  }

  /** Drops the holes and points the indexes at the new slots. */
  private compact(): void {
    const { messages, seqs, sizes } = this
    let to = 0
    for (let from = 0; from < messages.length; from++) {
      const message = messages[from]
      if (message === undefined) continue
      if (to !== from) {
        messages[to] = message
        seqs[to] = seqs[from]!
        sizes[to] = sizes[from]!
        switch (message.type) {
          case 'changed':
          case 'removed':
            ;(message.type === 'changed' ? this.changed[message.change] : this.removed)
              .get(message.region)!
              .set(message.key, to)
            break
          case 'regionCleared':
            this.regionCleared.set(message.region, to)
            break
        }
      }
      to++
    }
    messages.length = to
    seqs.length = to
    sizes.length = to
  }
}

function clearIfUsed(map: Map<unknown, unknown>): void {
  if (map.size !== 0) map.clear()
}
