import { describe, expect, it } from 'vitest'
import { waitFor } from '../src/testing/wait-for.js'
import type { Backplane, BackplaneListener } from '../src/contracts/backplane.js'
import type { BackplaneMessage } from '../src/backplane/messages.js'
import { BackplaneBus, type BackplaneBusOptions, newSenderId } from '../src/backplane/backplane-bus.js'
import { decodeFrame, encodedMessageSize, encodeFrame } from '../src/backplane/frame-codec.js'
import { createBackplaneHub, memoryBackplane } from '../src/backplane/memory-backplane.js'
import { type OutboundBatch, OutboundQueue } from '../src/backplane/outbound-queue.js'
import {
  BackplaneFailedError,
  type CacheplaneError,
  FrameInvalidError,
  FrameSignatureError,
  InvalidOptionsError,
} from '../src/errors.js'

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void
  let reject!: (error: Error) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A transport the test drives by hand: it records frames and decides how each publish ends. */
function fakeBackplane(maxFrameBytes = 1 << 20) {
  const fake = {
    published: [] as Uint8Array[],
    listener: undefined as BackplaneListener | undefined,
    closed: false,
    onPublish: (_frame: Uint8Array, _index: number): Promise<void> => Promise.resolve(),
    connectError: undefined as Error | undefined,
    backplane: undefined as unknown as Backplane,
  }
  fake.backplane = {
    name: 'fake',
    capabilities: { replay: false, maxFrameBytes, multiplex: false },
    connect(_channel, listener) {
      fake.listener = listener
      return {
        ready: fake.connectError ? Promise.reject(fake.connectError) : Promise.resolve(),
        publish(frame) {
          fake.published.push(frame)
          return fake.onPublish(frame, fake.published.length - 1)
        },
        async close() {
          fake.closed = true
        },
      }
    },
    async close() {
      fake.closed = true
    },
  } satisfies Backplane
  return fake
}

function recorder() {
  const rec = {
    messages: [] as BackplaneMessage[],
    senders: [] as string[],
    errors: [] as CacheplaneError[],
    gaps: [] as unknown[],
    states: [] as string[],
    throwOnMessages: false,
  }
  const handlers: BackplaneBusOptions['handlers'] = {
    onMessages(messages, senderId) {
      rec.messages.push(...messages)
      rec.senders.push(senderId)
      if (rec.throwOnMessages) throw new Error('handler exploded')
    },
    onGap: (gap) => rec.gaps.push(gap),
    onState: (state) => rec.states.push(state),
    onError: (error) => rec.errors.push(error),
  }
  return { rec, handlers }
}

function makeBus(backplane: Backplane, overrides: Partial<BackplaneBusOptions> = {}) {
  const { rec, handlers } = recorder()
  const bus = new BackplaneBus({
    backplane,
    channel: 'test-channel',
    senderId: newSenderId(),
    maxQueue: 1000,
    maxFrameBytes: 1 << 20,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    closeTimeoutMs: 1_000,
    handlers,
    ...overrides,
  })
  return { bus, rec }
}

const key = (k: string, region?: string): BackplaneMessage => ({ type: 'removed', key: k, region })
const set = (k: string, region?: string): BackplaneMessage => ({
  type: 'changed',
  change: 'set',
  key: k,
  region,
})
const decoded = (frame: Uint8Array | undefined) => decodeFrame(frame!).messages

describe('BackplaneBus outbound', () => {
  it('batches announces of one tick into one frame', async () => {
    const fake = fakeBackplane()
    const { bus } = makeBus(fake.backplane)
    await bus.start()
    const messages = Array.from({ length: 100 }, (_, i) => key(`k${i}`, i % 2 ? 'r' : undefined))
    for (const message of messages) bus.announce(message)
    await bus.flush()
    expect(fake.published).toHaveLength(1)
    expect(decoded(fake.published[0])).toEqual(messages)
    expect(bus.stats()).toMatchObject({ framesSent: 1, messagesSent: 100 })
  })

  it('deduplicates queued messages and lets clears supersede', async () => {
    const fake = fakeBackplane()
    const { bus } = makeBus(fake.backplane)
    await bus.start()
    bus.announce(set('a'))
    bus.announce({ type: 'changed', change: 'update', key: 'a', region: undefined }) // another kind: kept
    bus.announce(set('a')) // the same kind again: replaces the first and moves to the end
    bus.announce(key('a')) // another type: kept
    bus.announce(set('a', 'r1'))
    bus.announce(set('b', 'r2'))
    bus.announce(set('c', 'r1'))
    bus.announce({ type: 'regionCleared', region: 'r1' }) // supersedes a@r1 and c@r1
    bus.announce(set('d', 'r1')) // after the clear: kept
    await bus.flush()
    expect(decoded(fake.published[0])).toEqual([
      { type: 'changed', change: 'update', key: 'a', region: undefined },
      set('a'),
      key('a'),
      set('b', 'r2'),
      { type: 'regionCleared', region: 'r1' },
      set('d', 'r1'),
    ])
    expect(bus.stats().deduplicated).toBe(3)

    bus.announce(set('x'))
    bus.announce({ type: 'regionCleared', region: 'r' })
    bus.announce({ type: 'cleared' })
    bus.announce(set('y'))
    await bus.flush()
    expect(decoded(fake.published[1])).toEqual([{ type: 'cleared' }, set('y')])
    expect(bus.stats().deduplicated).toBe(5)
  })

  it('keeps one flush in flight and accumulates the next batch meanwhile', async () => {
    const fake = fakeBackplane()
    const held = deferred()
    fake.onPublish = (_frame, index) => (index === 0 ? held.promise : Promise.resolve())
    const { bus } = makeBus(fake.backplane)
    await bus.start()
    bus.announce(set('a'))
    await waitFor(() => fake.published.length === 1, { message: 'first publish' })
    let flushed = false
    const firstFlush = bus.flush().then(() => {
      flushed = true
    })
    bus.announce(set('b'))
    bus.announce(set('c'))
    bus.announce(set('d'))
    await nextTurn()
    await nextTurn()
    expect(fake.published).toHaveLength(1)
    expect(flushed).toBe(false)
    held.resolve()
    await firstFlush
    await bus.flush()
    expect(fake.published).toHaveLength(2)
    expect(decoded(fake.published[1])).toEqual([set('b'), set('c'), set('d')])
  })

  it('splits batches into frames that fit the smaller maximum frame size', async () => {
    for (const [busMax, transportMax] of [
      [90, 1 << 20],
      [1 << 20, 90],
    ] as const) {
      const fake = fakeBackplane(transportMax)
      const { bus } = makeBus(fake.backplane, { maxFrameBytes: busMax })
      await bus.start()
      const messages = Array.from({ length: 20 }, (_, i) =>
        set(`key-${String(i).padStart(4, '0')}`, 'region'),
      )
      for (const message of messages) bus.announce(message)
      await bus.flush()
      expect(fake.published.length).toBeGreaterThan(1)
      for (const frame of fake.published) expect(frame.length).toBeLessThanOrEqual(90)
      expect(fake.published.flatMap((frame) => decoded(frame))).toEqual(messages)
      expect(bus.stats().framesSent).toBe(fake.published.length)
    }
  })

  it('replaces a message no frame can carry by the narrowest covering clear', async () => {
    const fake = fakeBackplane()
    const { bus, rec } = makeBus(fake.backplane, { maxFrameBytes: 120 })
    await bus.start()
    bus.announce(set('k', 'r'.repeat(500)))
    bus.announce(set('k'.repeat(500), 'eu'))
    bus.announce(key('lone \ud800', 'us'))
    await bus.flush()
    expect(fake.published.flatMap((frame) => decoded(frame))).toEqual([
      { type: 'cleared' },
      { type: 'regionCleared', region: 'eu' },
      { type: 'regionCleared', region: 'us' },
    ])
    expect(rec.errors.filter((error) => error instanceof FrameInvalidError)).toHaveLength(3)
  })

  it('reads the transport limit per batch (it may change on connect, like NATS max_payload)', async () => {
    const fake = fakeBackplane()
    let transportLimit = Number.POSITIVE_INFINITY
    fake.backplane = {
      ...fake.backplane,
      capabilities: {
        replay: false,
        multiplex: false,
        get maxFrameBytes() {
          return transportLimit
        },
      },
    }
    const { bus, rec } = makeBus(fake.backplane)
    bus.announce(set('k'.repeat(200), 'eu'))
    for (let i = 0; i < 10; i++) bus.announce(set(`key-${i}`))
    transportLimit = 100 // learned on connect
    await bus.start()
    await bus.flush()
    for (const frame of fake.published) expect(frame.length).toBeLessThanOrEqual(100)
    const sent = fake.published.flatMap((frame) => decoded(frame))
    expect(sent[0]).toEqual({ type: 'regionCleared', region: 'eu' })
    expect(sent).toHaveLength(11)
    expect(rec.errors).toHaveLength(1)
  })

  it('never throws from announce, even for garbage: it degrades to cleared', async () => {
    const fake = fakeBackplane()
    const { bus, rec } = makeBus(fake.backplane)
    rec.errors.push = () => {
      throw new Error('onError itself throws')
    }
    await bus.start()
    for (const garbage of [
      null,
      undefined,
      42,
      { type: 'bogus' },
      { type: 'changed', change: 'nope', key: 'k' },
    ]) {
      expect(() => bus.announce(garbage as never)).not.toThrow()
    }
    await bus.flush()
    expect(decoded(fake.published[0])).toEqual([{ type: 'cleared' }])
  })

  it('collapses an overflowing queue into exactly one cleared', async () => {
    const fake = fakeBackplane()
    const { bus } = makeBus(fake.backplane, { maxQueue: 5 })
    // Before start nothing is flushed, so the queue fills deterministically.
    for (let i = 0; i < 10; i++) bus.announce(set(`k${i}`))
    await bus.start()
    await bus.flush()
    const sent = fake.published.flatMap((frame) => decoded(frame))
    expect(sent.filter((message) => message.type === 'cleared')).toHaveLength(1)
    expect(sent[0]).toEqual({ type: 'cleared' })
    expect(sent).toEqual([{ type: 'cleared' }, set('k6'), set('k7'), set('k8'), set('k9')])
    expect(bus.stats().overflows).toBe(1)
  })

  it('flush resolves at once when nothing is pending', async () => {
    const fake = fakeBackplane()
    const { bus } = makeBus(fake.backplane)
    await bus.start()
    await bus.flush()
    expect(fake.published).toHaveLength(0)
  })
})

describe('BackplaneBus retries', () => {
  it('re-queues a failed publish, retries with backoff and delivers exactly once', async () => {
    const hub = createBackplaneHub()
    const sender = memoryBackplane({ hub })
    let failures = 2
    const flaky: Backplane = {
      ...sender,
      connect(channel, listener) {
        const inner = sender.connect(channel, listener)
        return {
          ...inner,
          publish(frame) {
            if (failures > 0) {
              failures--
              return Promise.reject(new Error('server said no'))
            }
            return inner.publish(frame)
          },
        }
      },
    }
    const a = makeBus(flaky)
    const b = makeBus(memoryBackplane({ hub }))
    await a.bus.start()
    await b.bus.start()
    a.bus.announce(set('k'))
    await a.bus.flush()
    a.bus.announce(set('sentinel'))
    await waitFor(() => b.rec.messages.some((m) => m.type === 'changed' && m.key === 'sentinel'), {
      message: 'sentinel',
    })
    expect(b.rec.messages).toEqual([set('k'), set('sentinel')])
    expect(a.bus.stats()).toMatchObject({ publishFailures: 2, retried: 2, framesSent: 2, messagesSent: 2 })
    expect(a.rec.errors).toHaveLength(2)
    expect(a.rec.errors[0]).toBeInstanceOf(BackplaneFailedError)
    expect((a.rec.errors[0]!.cause as Error).message).toBe('server said no')
  })

  it('keeps the failed batch ahead of messages announced during the backoff', async () => {
    const fake = fakeBackplane()
    fake.onPublish = (_frame, index) => (index === 0 ? Promise.reject(new Error('down')) : Promise.resolve())
    const { bus } = makeBus(fake.backplane, { retry: { baseDelayMs: 20, maxDelayMs: 20 } })
    await bus.start()
    bus.announce(set('a'))
    bus.announce(set('b'))
    await waitFor(() => bus.stats().publishFailures === 1, { message: 'the failure' })
    bus.announce(set('c'))
    bus.announce(set('a')) // same key again: one message, moved to the end
    await bus.flush()
    expect(fake.published).toHaveLength(2)
    expect(decoded(fake.published[1])).toEqual([set('b'), set('c'), set('a')])
  })

  it('retries at once when the transport reconnects during a backoff', async () => {
    const fake = fakeBackplane()
    fake.onPublish = (_frame, index) => (index === 0 ? Promise.reject(new Error('down')) : Promise.resolve())
    // A one-minute backoff: only the reconnect can make this flush finish within the test.
    const { bus, rec } = makeBus(fake.backplane, { retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 } })
    await bus.start()
    bus.announce(set('a'))
    await waitFor(() => bus.stats().publishFailures === 1, { message: 'the failure' })
    fake.listener!.onState('disconnected')
    expect(bus.stats().connected).toBe(false)
    fake.listener!.onState('connected')
    await bus.flush()
    expect(decoded(fake.published[1])).toEqual([set('a')])
    expect(bus.stats()).toMatchObject({ connected: true, retried: 1 })
    expect(rec.states).toEqual(['disconnected', 'connected'])
  })
})

/** Pushes a message with its real frame size; returns how many queued messages it superseded. */
const push = (queue: OutboundQueue, message: BackplaneMessage, seq: number): number =>
  queue.push(message, seq, encodedMessageSize(message))

/** A drained batch as a list of entries, checking that every size is the message's frame size. */
function entries(batch: OutboundBatch): Array<{ message: BackplaneMessage; seq: number }> {
  expect(batch.sizes).toEqual(batch.messages.map((message) => encodedMessageSize(message)))
  return batch.messages.map((message, i) => ({ message, seq: batch.seqs[i]! }))
}

describe('OutboundQueue', () => {
  it('keeps messages of different identities apart, whatever characters their keys hold', () => {
    const queue = new OutboundQueue(100)
    const messages: BackplaneMessage[] = [
      { type: 'cleared' },
      key('b|c', 'a'),
      key('c', 'a|b'),
      key('k', ''),
      key('k', undefined),
      key('-|k', undefined),
      set('k', undefined),
      set('k', ''),
      { type: 'regionCleared', region: 'k' },
      { type: 'regionCleared', region: 'k|' },
    ]
    expect(messages.map((message, i) => push(queue, message, i))).toEqual(messages.map(() => 0))
    expect(queue.size).toBe(messages.length)
    // Each identity again (but `cleared`, which supersedes all): exactly its own earlier message goes.
    const again = messages.slice(1)
    expect(again.map((message, i) => push(queue, message, 100 + i))).toEqual(again.map(() => 1))
    expect(entries(queue.drain()).map((entry) => entry.message)).toEqual(messages)
  })

  it('gives a merged message the oldest sequence number it stands for', () => {
    const queue = new OutboundQueue(10)
    push(queue, set('a', 'r'), 1)
    push(queue, set('b'), 2)
    push(queue, { type: 'regionCleared', region: 'r' }, 3)
    expect(entries(queue.drain())).toEqual([
      { message: set('b'), seq: 2 },
      { message: { type: 'regionCleared', region: 'r' }, seq: 1 },
    ])
    push(queue, set('a'), 4)
    push(queue, set('b'), 5)
    expect(push(queue, { type: 'cleared' }, 6)).toBe(2)
    expect(queue.overflows).toBe(0)
    expect(entries(queue.drain())).toEqual([{ message: { type: 'cleared' }, seq: 4 }])
  })

  it('re-queues failed messages ahead of newer ones and reports overflows', () => {
    const queue = new OutboundQueue(3)
    push(queue, set('c'), 3)
    const failed: OutboundBatch = {
      messages: [set('x'), set('a'), set('b')],
      seqs: [0, 1, 2],
      sizes: [set('x'), set('a'), set('b')].map((message) => encodedMessageSize(message)),
    }
    // set('x') was published before the failure: only what follows index 1 is re-queued.
    expect(queue.requeue(failed, 1)).toBe(0)
    expect(entries(queue.drain()).map((entry) => entry.message)).toEqual([set('a'), set('b'), set('c')])
    push(queue, set('d'), 4)
    push(queue, set('e'), 5)
    expect(queue.requeue(failed, 1)).toBe(1)
    expect(queue.overflows).toBe(1)
    expect(entries(queue.drain())).toEqual([{ message: { type: 'cleared' }, seq: 1 }])
  })

  it('stays ordered and exact while the same keys are pushed over and over', () => {
    const queue = new OutboundQueue(100)
    // 20,000 pushes over 50 keys: most slots become holes and are compacted away meanwhile.
    let seq = 0
    for (let round = 0; round < 400; round++) {
      for (let k = 0; k < 50; k++) push(queue, set(`k${k}`, k % 2 === 0 ? 'even' : undefined), ++seq)
    }
    expect(queue.size).toBe(50)
    expect(queue.oldestSeq()).toBe(1)
    // The region clear must still find every message of its region after the compactions.
    expect(push(queue, { type: 'regionCleared', region: 'even' }, ++seq)).toBe(25)
    const drained = entries(queue.drain())
    expect(drained.map((entry) => entry.message)).toEqual([
      ...Array.from({ length: 25 }, (_, i) => set(`k${2 * i + 1}`)),
      { type: 'regionCleared', region: 'even' },
    ])
    // Each key stands for all its pushes: its first push (round 0) is its sequence number.
    expect(drained.map((entry) => entry.seq)).toEqual([...Array.from({ length: 25 }, (_, i) => 2 * i + 2), 1])
    expect(queue.size).toBe(0)
    expect(queue.oldestSeq()).toBe(Number.POSITIVE_INFINITY)
  })
})

describe('BackplaneBus overflow during an outage', () => {
  it('collapses failed and new messages into one cleared that is published on recovery', async () => {
    const fake = fakeBackplane()
    fake.onPublish = (_frame, index) => (index === 0 ? Promise.reject(new Error('down')) : Promise.resolve())
    const { bus } = makeBus(fake.backplane, { maxQueue: 3, retry: { baseDelayMs: 20, maxDelayMs: 20 } })
    await bus.start()
    for (const name of ['a', 'b', 'c']) bus.announce(set(name))
    await waitFor(() => bus.stats().publishFailures === 1, { message: 'the failure' })
    bus.announce(set('d'))
    await bus.flush()
    expect(decoded(fake.published.at(-1))).toEqual([{ type: 'cleared' }])
    expect(bus.stats()).toMatchObject({ overflows: 1, messagesSent: 1 })
  })
})

describe('BackplaneBus inbound', () => {
  it('delivers remote frames and skips its own', async () => {
    const hub = createBackplaneHub()
    const a = makeBus(memoryBackplane({ hub }))
    const b = makeBus(memoryBackplane({ hub }))
    await a.bus.start()
    await b.bus.start()
    a.bus.announce(set('k', 'r'))
    await waitFor(() => b.rec.messages.length === 1 && a.bus.stats().ownFramesSkipped === 1, {
      message: 'delivery',
    })
    expect(b.rec.messages).toEqual([set('k', 'r')])
    expect(a.rec.messages).toEqual([])
    expect(b.bus.stats()).toMatchObject({ framesReceived: 1, messagesReceived: 1, ownFramesSkipped: 0 })
  })

  it('skips its own frames by their header, and with a secret only once the signature holds', async () => {
    const senderId = newSenderId()
    const plain = fakeBackplane()
    const a = makeBus(plain.backplane, { senderId })
    await a.bus.start()
    plain.listener!.onFrame(encodeFrame({ senderId, messages: [set('k')] }))
    plain.listener!.onFrame(encodeFrame({ senderId: newSenderId(), messages: [set('k')] }))
    expect(a.rec.messages).toEqual([set('k')])
    expect(a.bus.stats()).toMatchObject({ framesReceived: 2, ownFramesSkipped: 1, droppedInvalid: 0 })

    const signed = fakeBackplane()
    const b = makeBus(signed.backplane, { senderId, secret: 's3cret' })
    await b.bus.start()
    signed.listener!.onFrame(encodeFrame({ senderId, messages: [set('k')] }, { secret: 's3cret' }))
    // A forgery naming us: rejected for its signature, not skipped as ours.
    signed.listener!.onFrame(encodeFrame({ senderId, messages: [set('k')] }, { secret: 'forger' }))
    expect(b.rec.messages).toEqual([])
    expect(b.bus.stats()).toMatchObject({ framesReceived: 2, ownFramesSkipped: 1, droppedInvalid: 1 })
    expect(b.rec.errors.map((error) => error.constructor)).toEqual([FrameSignatureError])
  })

  it('drops invalid frames, counts and reports them, and delivers nothing', async () => {
    const fake = fakeBackplane()
    const { bus, rec } = makeBus(fake.backplane)
    await bus.start()
    fake.listener!.onFrame(Uint8Array.from([1, 2, 3]))
    fake.listener!.onFrame('garbage' as unknown as Uint8Array)
    expect(rec.messages).toEqual([])
    expect(bus.stats().droppedInvalid).toBe(2)
    expect(rec.errors.every((error) => error instanceof FrameInvalidError)).toBe(true)
  })

  it('accepts only frames signed with its secret', async () => {
    const fake = fakeBackplane()
    const { bus, rec } = makeBus(fake.backplane, { secret: 's3cret' })
    await bus.start()
    const frame = { senderId: newSenderId(), messages: [set('k')] }
    fake.listener!.onFrame(encodeFrame(frame))
    fake.listener!.onFrame(encodeFrame(frame, { secret: 'other' }))
    expect(rec.messages).toEqual([])
    expect(rec.errors.map((error) => error.constructor)).toEqual([FrameSignatureError, FrameSignatureError])
    fake.listener!.onFrame(encodeFrame(frame, { secret: Buffer.from('s3cret') }))
    expect(rec.messages).toEqual([set('k')])
    expect(bus.stats().droppedInvalid).toBe(2)
  })

  it('signs what it sends so peers with the same secret accept it', async () => {
    const hub = createBackplaneHub()
    const a = makeBus(memoryBackplane({ hub }), { secret: 'shared' })
    const b = makeBus(memoryBackplane({ hub }), { secret: new TextEncoder().encode('shared') })
    const c = makeBus(memoryBackplane({ hub }), { secret: 'different' })
    for (const peer of [a, b, c]) await peer.bus.start()
    a.bus.announce(key('k'))
    await waitFor(() => b.rec.messages.length === 1 && c.bus.stats().droppedInvalid === 1, {
      message: 'delivery',
    })
    expect(c.rec.messages).toEqual([])
    expect(c.rec.errors[0]).toBeInstanceOf(FrameSignatureError)
  })

  it('never lets a handler throw into the transport', async () => {
    const hub = createBackplaneHub({
      onSubscriberError: () => {
        throw new Error('the transport saw a handler error')
      },
    })
    const a = makeBus(memoryBackplane({ hub }))
    const b = makeBus(memoryBackplane({ hub }))
    b.rec.throwOnMessages = true
    await a.bus.start()
    await b.bus.start()
    a.bus.announce(key('k'))
    await waitFor(() => b.rec.errors.length === 1, { message: 'the handler error' })
    expect(b.rec.errors[0]).toBeInstanceOf(BackplaneFailedError)
    expect((b.rec.errors[0]!.cause as Error).message).toBe('handler exploded')
  })

  it('passes gaps and state changes through and counts them', async () => {
    const fake = fakeBackplane()
    const { bus, rec } = makeBus(fake.backplane)
    await bus.start()
    expect(bus.stats().connected).toBe(true)
    fake.listener!.onGap({ reason: 'reconnect', recovered: false })
    fake.listener!.onState('disconnected')
    expect(rec.gaps).toEqual([{ reason: 'reconnect', recovered: false }])
    expect(bus.stats()).toMatchObject({ gaps: 1, connected: false })
  })
})

describe('BackplaneBus lifecycle', () => {
  it('close flushes what is queued, then closes the transport', async () => {
    const hub = createBackplaneHub()
    const a = makeBus(memoryBackplane({ hub }))
    const b = makeBus(memoryBackplane({ hub }))
    await a.bus.start()
    await b.bus.start()
    a.bus.announce(key('k'))
    await a.bus.close()
    expect(a.bus.stats().framesSent).toBe(1)
    expect(hub.subscriberCount('test-channel')).toBe(1)
    await waitFor(() => b.rec.messages.length === 1, { message: 'delivery' })
    a.bus.announce(key('late'))
    expect(a.rec.errors.at(-1)).toBeInstanceOf(BackplaneFailedError)
    await b.bus.close()
    expect(hub.framesPublished).toBe(1)
  })

  it('close gives up after closeTimeoutMs and reports what was not published', async () => {
    const fake = fakeBackplane()
    fake.onPublish = () => Promise.reject(new Error('down'))
    const { bus, rec } = makeBus(fake.backplane, { closeTimeoutMs: 30 })
    await bus.start()
    bus.announce(key('k'))
    const pending = bus.flush()
    await bus.close()
    await expect(pending).rejects.toBeInstanceOf(BackplaneFailedError)
    expect(fake.closed).toBe(true)
    expect(rec.errors.at(-1)?.message).toMatch(/1 backplane message\(s\) could not be published/)
    await expect(bus.flush()).resolves.toBeUndefined()
  })

  it('start reports a transport that cannot connect', async () => {
    const fake = fakeBackplane()
    fake.connectError = new Error('refused')
    const { bus } = makeBus(fake.backplane)
    await expect(bus.start()).rejects.toBeInstanceOf(BackplaneFailedError)
  })

  it('starts publishing when a transport whose connect() failed reports connected later', async () => {
    const fake = fakeBackplane()
    let late: BackplaneListener | undefined
    const inner = fake.backplane
    fake.backplane = {
      ...inner,
      connect(channel, listener) {
        late = listener // keeps trying on its own, like the Redis backplane
        const subscription = inner.connect(channel, listener)
        return { ...subscription, ready: Promise.reject(new Error('refused')) }
      },
    }
    const { bus, rec } = makeBus(fake.backplane)
    await expect(bus.start()).rejects.toBeInstanceOf(BackplaneFailedError)
    bus.announce(key('k'))
    await nextTurn()
    expect(fake.published).toHaveLength(0)
    late!.onState('connected')
    late!.onGap({ reason: 'connect', recovered: false })
    await waitFor(() => fake.published.length === 1, { message: 'the queued message to be published' })
    expect(decoded(fake.published[0])).toEqual([key('k')])
    expect(rec.gaps).toHaveLength(1)
    expect(bus.stats().connected).toBe(true)
  })

  it('validates its options', () => {
    const fake = fakeBackplane()
    const bad: Partial<BackplaneBusOptions>[] = [
      { channel: '' },
      { senderId: 'nope' },
      { maxQueue: 0 },
      { maxFrameBytes: 10 },
      { maxFrameBytes: Number.NaN },
      { retry: { baseDelayMs: 0, maxDelayMs: 1 } },
      { retry: { baseDelayMs: 10, maxDelayMs: 1 } },
      { closeTimeoutMs: -1 },
      { secret: '' },
    ]
    for (const overrides of bad) expect(() => makeBus(fake.backplane, overrides)).toThrow(InvalidOptionsError)
  })

  it('makes random 32-hex sender ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newSenderId()))
    expect(ids.size).toBe(100)
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/)
  })
})
