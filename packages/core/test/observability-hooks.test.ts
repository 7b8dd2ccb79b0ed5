/**
 * What core publishes for observability tools beyond the per-operation traces: the send
 * time frames carry (and the `frame` event with the propagation latency it gives), the
 * outbound queue depth in the backplane stats, and the `cacheplane.factory` trace.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { tracingChannel } from 'node:diagnostics_channel'
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  decodeFrame,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_TIMESTAMP_BYTES,
  frameOverheadBytes,
  isFrameFrom,
  senderIdBytes,
} from '../src/backplane/frame-codec.js'
import {
  CacheManager,
  createBackplaneHub,
  type DecodedFrame,
  FrameInvalidError,
  FrameSignatureError,
  memoryBackplane,
} from '../src/index.js'
import type { TraceContext } from '../src/tracing.js'
import { cluster, flakyBackplane, nextEvent } from './sync-fixtures.js'

const SENDER = '0123456789abcdef0123456789abcdef'
const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

describe('timestamped frames', () => {
  const frame: DecodedFrame = {
    senderId: SENDER,
    messages: [{ type: 'removed', key: 'k', region: 'eu' }],
    sentAt: 1_767_225_600_123.5,
  }

  it('carry the send time, signed or not, and cost its 8 bytes', () => {
    for (const secret of [undefined, 's3cret']) {
      const bytes = encodeFrame(frame, { secret })
      expect(decodeFrame(bytes, { secret })).toEqual(frame)
      const { sentAt: _, ...untimed } = frame
      expect(bytes.length - encodeFrame(untimed, { secret }).length).toBe(FRAME_TIMESTAMP_BYTES)
      expect(frameOverheadBytes(1, secret !== undefined, true)).toBe(
        frameOverheadBytes(1, secret !== undefined) + FRAME_TIMESTAMP_BYTES,
      )
      expect(isFrameFrom(bytes, senderIdBytes(SENDER), 1 << 20)).toBe(true)
    }
  })

  it('frames without a send time still decode, without one', () => {
    const { sentAt: _, ...untimed } = frame
    const decoded = decodeFrame(encodeFrame(untimed))
    expect(decoded).toEqual(untimed)
    expect('sentAt' in decoded).toBe(false)
  })

  it('rejects a non-finite send time and a frame cut inside it', () => {
    expect(() => encodeFrame({ ...frame, sentAt: Number.NaN })).toThrow(FrameInvalidError)
    const bytes = encodeFrame(frame)
    const nan = bytes.slice()
    new DataView(nan.buffer).setFloat64(FRAME_HEADER_BYTES, Number.POSITIVE_INFINITY, true)
    expect(() => decodeFrame(nan)).toThrow(FrameInvalidError)
    for (const cut of [FRAME_HEADER_BYTES + 1, FRAME_HEADER_BYTES + FRAME_TIMESTAMP_BYTES]) {
      expect(() => decodeFrame(bytes.subarray(0, cut))).toThrow(FrameInvalidError)
    }
  })
})

describe('timestamped frames under mutation', () => {
  it('decode or fail with a typed error, never anything else, signed or not', () => {
    let seed = 0x5eed
    const random = (max: number) => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0
      return seed % max
    }
    const base: DecodedFrame = {
      senderId: SENDER,
      messages: [
        { type: 'changed', change: 'set', key: 'k', region: 'eu' },
        { type: 'removed', key: 'ключ', region: undefined },
        { type: 'cleared' },
      ],
      sentAt: 1_767_225_600_000,
    }
    for (const secret of [undefined, 's3cret']) {
      const valid = encodeFrame(base, { secret })
      for (let i = 0; i < 3_000; i++) {
        const bytes = valid.slice(0, valid.length - random(4))
        for (let flips = 1 + random(3); flips > 0; flips--) {
          // Aim at the header and the send time half of the time: the new field's neighbourhood.
          const at =
            random(2) === 0 ? random(FRAME_HEADER_BYTES + FRAME_TIMESTAMP_BYTES + 2) : random(bytes.length)
          bytes[at] = random(256)
        }
        try {
          const decoded = decodeFrame(bytes, { secret })
          if (decoded.sentAt !== undefined) expect(Number.isFinite(decoded.sentAt)).toBe(true)
        } catch (error) {
          expect(error instanceof FrameInvalidError || error instanceof FrameSignatureError).toBe(true)
        }
      }
    }
  })
})

describe('the frame event', () => {
  it('reports each remote frame applied, with its send time and latency', async () => {
    const c = await cluster(2)
    closers.push(() => c.close())
    const [a, b] = c.managers as [CacheManager<unknown>, CacheManager<unknown>]
    const before = Date.now()
    const heard = nextEvent(b, 'frame')
    await a.set('k', 1)
    const event = await heard
    const after = Date.now()
    expect(event.messages).toBe(1)
    expect(event.sentAt).toBeGreaterThanOrEqual(before)
    expect(event.sentAt).toBeLessThanOrEqual(after)
    expect(event.latencyMs).toBeGreaterThanOrEqual(0)
    expect(event.latencyMs).toBeLessThanOrEqual(after - (event.sentAt as number))
  })
})

describe('backplane stats', () => {
  it('count the messages waiting to be published, until they are', async () => {
    const hub = createBackplaneHub()
    const flaky = flakyBackplane(memoryBackplane({ hub }), 3)
    const cache = new CacheManager({
      name: 'q',
      handles: [memoryHandle({ name: 'memory' })],
      backplane: flaky.backplane,
      retry: { baseDelayMs: 20, maxDelayMs: 40 },
    })
    closers.push(() => cache.close())
    await cache.ready()
    expect(cache.stats().backplane?.queued).toBe(0)
    await cache.set('a', 1)
    await cache.set('b', 2)
    // Nothing was published yet: the first flush runs on the next turn, and fails three times.
    expect(cache.stats().backplane?.queued).toBe(2)
    await cache.flush()
    expect(cache.stats().backplane?.queued).toBe(0)
    expect(cache.stats().backplane?.publishFailures).toBe(3)
  })
})

describe('the cacheplane.factory trace', () => {
  it('traces the factory of a getOrAdd miss inside the getOrAdd trace, not a hit', async () => {
    const cache = new CacheManager({ name: 'f', handles: [memoryHandle({ name: 'memory' })] })
    closers.push(() => cache.close())
    const store = new AsyncLocalStorage<TraceContext>()
    const getOrAdd = tracingChannel<TraceContext>('cacheplane.getOrAdd')
    const factory = tracingChannel<TraceContext>('cacheplane.factory')
    const seen: Array<[string, string, string | undefined]> = []
    const handlers = {
      start: (context: TraceContext) =>
        seen.push([`start ${context.operation}`, context.key ?? '', store.getStore()?.operation]),
      error: (context: TraceContext) =>
        seen.push([`error ${context.operation}`, context.key ?? '', undefined]),
      end: () => {},
      asyncStart: () => {},
      asyncEnd: () => {},
    }
    getOrAdd.start.bindStore(store, (context) => context)
    factory.subscribe(handlers)
    try {
      expect(await cache.getOrAdd('k', async () => 1, { region: 'r' })).toBe(1)
      expect(await cache.getOrAdd('k', async () => 2, { region: 'r' })).toBe(1)
      await expect(
        cache.getOrAdd('bad', () => {
          throw new Error('boom')
        }),
      ).rejects.toMatchObject({ code: 'E_FACTORY_FAILED', cause: { message: 'boom' } })
    } finally {
      factory.unsubscribe(handlers)
      getOrAdd.start.unbindStore(store)
    }
    expect(seen).toEqual([
      ['start factory', 'k', 'getOrAdd'],
      ['start factory', 'bad', 'getOrAdd'],
      ['error factory', 'bad', undefined],
    ])
  })
})
