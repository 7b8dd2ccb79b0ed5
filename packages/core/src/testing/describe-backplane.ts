/**
 * The Backplane conformance suite. Every transport runs it from a short test file:
 *
 *   describeBackplane('redisBackplane', () => redisBackplane({ url }))
 *
 * `factory` must return a new backplane on the same server each call (several backplanes
 * play several application instances). Each test uses a random channel, so suites can
 * share a server.
 */
import { afterEach, describe, expect, test } from 'vitest'
import type { Backplane, BackplaneGap, BackplaneState } from '../contracts/backplane.js'
import type { MaybePromise } from '../contracts/cache-handle.js'
import { randomKey, waitFor } from './wait-for.js'

/** Options of {@link describeBackplane}. */
export interface DescribeBackplaneOptions {
  /** How long a frame may take to arrive, ms. Default 5,000. */
  readonly deliveryTimeoutMs?: number
  /** Runs after each test, after its backplanes were closed. */
  readonly cleanup?: () => MaybePromise<void>
}

/** One connected backplane and everything it heard. */
interface Peer {
  readonly backplane: Backplane
  readonly frames: Uint8Array[]
  readonly gaps: BackplaneGap[]
  readonly states: BackplaneState[]
  closed: boolean
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text)
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))
const heard = (peer: Peer, frame: Uint8Array): boolean => peer.frames.some((f) => same(f, frame))

/** Registers the Backplane conformance suite for backplanes made by `factory`. */
export function describeBackplane(
  name: string,
  factory: () => MaybePromise<Backplane>,
  options: DescribeBackplaneOptions = {},
): void {
  const timeoutMs = options.deliveryTimeoutMs ?? 5_000
  let peers: Peer[] = []

  const connect = async (channel: string): Promise<Peer> => {
    const backplane = await factory()
    const peer: Peer = { backplane, frames: [], gaps: [], states: [], closed: false }
    peers.push(peer)
    await backplane.connect(channel, {
      onFrame: (frame) => peer.frames.push(frame),
      onGap: (gap) => peer.gaps.push(gap),
      onState: (state) => peer.states.push(state),
    })
    return peer
  }
  const close = async (peer: Peer): Promise<void> => {
    peer.closed = true
    await peer.backplane.close()
  }
  const delivered = (peer: Peer, frame: Uint8Array, what: string) =>
    waitFor(() => heard(peer, frame), { timeoutMs, message: what })

  describe(name, () => {
    afterEach(async () => {
      const open = peers.filter((peer) => !peer.closed)
      peers = []
      for (const peer of open) await close(peer)
      await options.cleanup?.()
    })

    test('declares its capabilities', async () => {
      const { backplane } = await connect(randomKey('channel'))
      expect(typeof backplane.name).toBe('string')
      expect(typeof backplane.capabilities.replay).toBe('boolean')
      expect(backplane.capabilities.maxFrameBytes).toBeGreaterThan(0)
    })

    test('a published frame reaches every subscriber, the publisher included', async () => {
      const channel = randomKey('channel')
      const [a, b, c] = [await connect(channel), await connect(channel), await connect(channel)]
      const frame = encode(`hello ${channel}`)
      await a.backplane.publish(frame)
      await delivered(b, frame, 'the frame at another subscriber')
      await delivered(c, frame, 'the frame at a third subscriber')
      await delivered(a, frame, 'the frame back at its publisher')
      expect([a, b, c].map((peer) => peer.frames.length)).toEqual([1, 1, 1])
    })

    test('channels are isolated', async () => {
      const [one, two] = [randomKey('channel'), randomKey('channel')]
      const [a, b, c] = [await connect(one), await connect(one), await connect(two)]
      const x = encode('on channel one')
      const y = encode('on channel two')
      await a.backplane.publish(x)
      await delivered(b, x, 'the frame on channel one')
      await c.backplane.publish(y)
      await delivered(c, y, 'the frame on channel two')
      expect(heard(c, x)).toBe(false)
      expect(heard(a, y) || heard(b, y)).toBe(false)
    })

    test('frames of one publisher arrive in order', async () => {
      const channel = randomKey('channel')
      const [a, b] = [await connect(channel), await connect(channel)]
      const count = 200
      for (let i = 0; i < count; i++) await a.backplane.publish(encode(`frame ${i}`))
      await waitFor(() => b.frames.length >= count, { timeoutMs, message: `${count} frames` })
      const texts = b.frames.map((frame) => new TextDecoder().decode(frame))
      expect(texts).toEqual(Array.from({ length: count }, (_, i) => `frame ${i}`))
    })

    test('frames are binary safe', async () => {
      const channel = randomKey('channel')
      const [a, b] = [await connect(channel), await connect(channel)]
      const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i)
      const zeros = new Uint8Array([0, 0, 0x0a, 0x0d, 0])
      const size = Math.min(a.backplane.capabilities.maxFrameBytes, 64 * 1024)
      const large = Uint8Array.from({ length: size }, (_, i) => (i * 131 + (i >> 7)) % 256)
      for (const frame of [everyByte, zeros, large]) await a.backplane.publish(frame)
      for (const frame of [everyByte, zeros, large])
        await delivered(b, frame, `a binary frame of ${frame.length} bytes`)
    })

    test('a closed backplane hears nothing more', async () => {
      const channel = randomKey('channel')
      const [a, b] = [await connect(channel), await connect(channel)]
      await close(b)
      const frame = encode('after close')
      await a.backplane.publish(frame)
      await delivered(a, frame, 'the frame back at its publisher')
      expect(b.frames).toEqual([])
    })

    test('publish after close rejects', async () => {
      const a = await connect(randomKey('channel'))
      await close(a)
      await expect(a.backplane.publish(encode('too late'))).rejects.toThrow()
    })
  })
}
