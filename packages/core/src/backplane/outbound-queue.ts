/**
 * The bounded, deduplicating queue of messages waiting to be published.
 *
 * Receivers only evict, so a queue may merge messages as long as what it finally
 * sends evicts at least everything the original messages would have:
 * - the same type + region + key is one message (a later change kind replaces the
 *   earlier one and moves to the end, so the queue keeps the order of last writes);
 * - `cleared` supersedes everything queued before it;
 * - `regionCleared(r)` supersedes queued keyed messages of region `r`;
 * - on overflow the whole queue collapses into one `cleared`.
 *
 * Every entry carries a sequence number: the oldest announce it stands for (a message
 * that supersedes others inherits their oldest number), so `flush()` can wait for
 * "everything queued so far" even when what was queued has been merged away.
 */
import type { BackplaneMessage } from './messages.js'

/** A queued message and the oldest announce sequence number it covers. */
export interface QueuedMessage {
  readonly message: BackplaneMessage
  readonly seq: number
}

/** What an {@link OutboundQueue.push} did, for stats. */
export interface PushResult {
  /** Queued messages this push replaced or superseded. */
  readonly superseded: number
  /** True when the push overflowed the queue and collapsed it into one `cleared`. */
  readonly overflowed: boolean
}

const CLEARED: BackplaneMessage = Object.freeze({ type: 'cleared' })

/** Dedup identity of a message: type + region + key, unambiguous for any strings. */
export function dedupKey(message: BackplaneMessage): string {
  switch (message.type) {
    case 'changed':
    case 'removed':
      // The region's length delimits it, so no key/region pair can collide with another.
      return message.region === undefined
        ? `${message.type}|-|${message.key}`
        : `${message.type}|${message.region.length}:${message.region}|${message.key}`
    case 'cleared':
      return 'cleared'
    case 'regionCleared':
      return `regionCleared|${message.region}`
  }
}

/** Insertion-ordered, deduplicating, bounded message queue. */
export class OutboundQueue {
  private entries = new Map<string, QueuedMessage>()

  /** @param maxSize distinct messages kept before the queue collapses into one `cleared`. */
  constructor(private readonly maxSize: number) {}

  /** Number of distinct queued messages. */
  get size(): number {
    return this.entries.size
  }

  /** Queues a message covering announce `seq`, merging it with what is queued. */
  push(message: BackplaneMessage, seq: number): PushResult {
    let superseded = 0
    let oldest = seq
    if (message.type === 'cleared') {
      for (const entry of this.entries.values()) oldest = Math.min(oldest, entry.seq)
      superseded = this.entries.size
      this.entries.clear()
    } else if (message.type === 'regionCleared') {
      for (const [id, entry] of this.entries) {
        const queued = entry.message
        if ((queued.type === 'changed' || queued.type === 'removed') && queued.region === message.region) {
          oldest = Math.min(oldest, entry.seq)
          this.entries.delete(id)
          superseded++
        }
      }
    }
    const id = dedupKey(message)
    const previous = this.entries.get(id)
    if (previous !== undefined) {
      oldest = Math.min(oldest, previous.seq)
      this.entries.delete(id)
      superseded++
    } else if (this.entries.size >= this.maxSize) {
      // The collapsed `cleared` evicts everything, the new message included.
      for (const entry of this.entries.values()) oldest = Math.min(oldest, entry.seq)
      this.entries.clear()
      this.entries.set('cleared', { message: CLEARED, seq: oldest })
      return { superseded, overflowed: true }
    }
    this.entries.set(id, { message, seq: oldest })
    return { superseded, overflowed: false }
  }

  /** Removes and returns every queued message, oldest first. */
  drain(): QueuedMessage[] {
    const drained = [...this.entries.values()]
    this.entries.clear()
    return drained
  }

  /**
   * Puts messages whose publish failed back in front of what was queued since, then
   * replays the newer messages over them so supersession still applies. Returns how
   * many times the queue overflowed doing so.
   */
  requeue(failed: readonly QueuedMessage[]): number {
    const newer = this.drain()
    let overflows = 0
    for (const entry of [...failed, ...newer]) {
      if (this.push(entry.message, entry.seq).overflowed) overflows++
    }
    return overflows
  }

  /** Smallest sequence number still queued; `Infinity` when empty. */
  oldestSeq(): number {
    let oldest = Number.POSITIVE_INFINITY
    for (const entry of this.entries.values()) oldest = Math.min(oldest, entry.seq)
    return oldest
  }
}
