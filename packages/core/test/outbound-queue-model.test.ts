// The outbound queue against a reference model: the straightforward version it replaced
// (one insertion-ordered Map keyed by a `type|change|region|key` string), run side by side over
// seeded random sequences of pushes, drains, requeues and overflows. Every observable
// result must agree: what push returns, overflows, size, oldestSeq and what drain returns.
import { describe, expect, it } from 'vitest'
import { encodedMessageSize } from '../src/backplane/frame-codec.js'
import type { BackplaneMessage } from '../src/backplane/messages.js'
import { type OutboundBatch, OutboundQueue } from '../src/backplane/outbound-queue.js'

interface Entry {
  message: BackplaneMessage
  seq: number
}

/** The reference: the queue's rules written the obvious way. */
class ModelQueue {
  entries = new Map<string, Entry>()
  overflows = 0
  constructor(private readonly maxSize: number) {}

  static id(message: BackplaneMessage): string {
    switch (message.type) {
      case 'changed':
        return JSON.stringify([message.type, message.change, message.region ?? null, message.key])
      case 'removed':
        return JSON.stringify([message.type, message.region ?? null, message.key])
      case 'cleared':
        return 'cleared'
      case 'regionCleared':
        return JSON.stringify(['regionCleared', message.region])
      case 'tagInvalidated':
        return JSON.stringify(['tagInvalidated', message.tag, message.stamp])
    }
  }

  push(message: BackplaneMessage, seq: number): number {
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
    const id = ModelQueue.id(message)
    const previous = this.entries.get(id)
    if (previous !== undefined) {
      oldest = Math.min(oldest, previous.seq)
      this.entries.delete(id)
      superseded++
    } else if (this.entries.size >= this.maxSize) {
      for (const entry of this.entries.values()) oldest = Math.min(oldest, entry.seq)
      this.entries.clear()
      this.entries.set('cleared', { message: { type: 'cleared' }, seq: oldest })
      this.overflows++
      return superseded
    }
    this.entries.set(id, { message, seq: oldest })
    return superseded
  }

  drain(): Entry[] {
    const drained = [...this.entries.values()]
    this.entries.clear()
    return drained
  }

  requeue(failed: readonly Entry[]): number {
    const before = this.overflows
    for (const entry of [...failed, ...this.drain()]) this.push(entry.message, entry.seq)
    return this.overflows - before
  }

  oldestSeq(): number {
    return Math.min(Number.POSITIVE_INFINITY, ...[...this.entries.values()].map((entry) => entry.seq))
  }
}

function prng(seed: number) {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (n: number) => Math.floor(next() * n) }
}

const KEYS = ['a', 'b', 'c', 'a|b', 'b|c', '', '-|a', 'k:1', 'k:2', 'k:3']
const REGIONS = [undefined, undefined, 'r', 'a', '', 'r|']

function randomMessage(rng: ReturnType<typeof prng>): BackplaneMessage {
  const roll = rng.int(100)
  const region = REGIONS[rng.int(REGIONS.length)]
  const key = KEYS[rng.int(KEYS.length)]!
  if (roll < 55) return { type: 'changed', change: roll % 2 === 0 ? 'set' : 'update', key, region }
  if (roll < 85) return { type: 'removed', key, region }
  if (roll < 95) return { type: 'regionCleared', region: region ?? 'r' }
  return { type: 'cleared' }
}

function entriesOf(batch: OutboundBatch): Entry[] {
  expect(batch.sizes).toEqual(batch.messages.map((message) => encodedMessageSize(message)))
  return batch.messages.map((message, i) => ({ message, seq: batch.seqs[i]! }))
}

describe('OutboundQueue against the reference model', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`agrees on 3,000 random operations (seed ${seed})`, () => {
      const rng = prng(seed)
      const maxSize = [3, 8, 40, 1000][seed % 4]!
      const queue = new OutboundQueue(maxSize)
      const model = new ModelQueue(maxSize)
      let seq = 0
      for (let step = 0; step < 3_000; step++) {
        const roll = rng.int(100)
        if (roll < 85) {
          const message = randomMessage(rng)
          seq++
          expect(queue.push(message, seq, encodedMessageSize(message))).toBe(model.push(message, seq))
        } else if (roll < 93) {
          expect(entriesOf(queue.drain())).toEqual(model.drain())
        } else {
          // A publish failed after sending the first `from` messages of a drained batch;
          // more messages arrive meanwhile; the rest is re-queued in front of them.
          const batch = queue.drain()
          const modelBatch = model.drain()
          const from = rng.int(batch.messages.length + 1)
          for (let i = rng.int(4); i > 0; i--) {
            const message = randomMessage(rng)
            seq++
            expect(queue.push(message, seq, encodedMessageSize(message))).toBe(model.push(message, seq))
          }
          expect(queue.requeue(batch, from)).toBe(model.requeue(modelBatch.slice(from)))
        }
        expect(queue.size).toBe(model.entries.size)
        expect(queue.overflows).toBe(model.overflows)
        expect(queue.oldestSeq()).toBe(model.oldestSeq())
      }
      expect(entriesOf(queue.drain())).toEqual(model.drain())
    })
  }

  it('agrees while one hot key is pushed far past the compaction threshold', () => {
    const queue = new OutboundQueue(100)
    const model = new ModelQueue(100)
    const rng = prng(42)
    for (let seq = 1; seq <= 20_000; seq++) {
      const message: BackplaneMessage =
        rng.int(10) === 0
          ? { type: 'removed', key: KEYS[rng.int(KEYS.length)]!, region: 'r' }
          : { type: 'changed', change: 'set', key: 'hot', region: undefined }
      expect(queue.push(message, seq, encodedMessageSize(message))).toBe(model.push(message, seq))
      if (seq % 5_000 === 0) {
        const cleared: BackplaneMessage = { type: 'regionCleared', region: 'r' }
        expect(queue.push(cleared, seq, encodedMessageSize(cleared))).toBe(model.push(cleared, seq))
      }
    }
    expect(entriesOf(queue.drain())).toEqual(model.drain())
  })
})
