/**
 * The Backplane conformance suite. Every transport runs it from a short test file:
 *
 *   describeBackplane('redisBackplane', () => redisBackplane({ url }))
 *
 * `factory` must return a new backplane on the same server each call (several backplanes
 * play several application instances). Each test uses a random channel, so suites can
 * share a server. A backplane that declares `multiplex` also runs the multi-cache slice: one
 * backplane object holding a subscription per channel, as every cache of an instance would.
 */
import { afterEach, describe, expect, test } from 'vitest'
import type {
  Backplane,
  BackplaneGap,
  BackplaneState,
  BackplaneSubscription,
} from '../contracts/backplane.js'
import type { MaybePromise } from '../contracts/cache-handle.js'
import { randomKey, waitFor } from './wait-for.js'

/** Options of {@link describeBackplane}. */
export interface DescribeBackplaneOptions {
  /** How long a frame may take to arrive, ms. Default 5,000. */
  readonly deliveryTimeoutMs?: number
  /** Runs after each test, after its backplanes were closed. */
  readonly cleanup?: () => MaybePromise<void>
  /**
   * Breaks `backplane`'s connection so that it must resubscribe and report a gap (kill its
   * connection on the server, force a reconnect). Without it the "a gap reaches every
   * subscription" test is skipped, visibly.
   */
  readonly interrupt?: (backplane: Backplane) => MaybePromise<void>
}

/** One subscription (one cache) and everything it heard. */
interface Peer {
  readonly backplane: Backplane
  readonly subscription: BackplaneSubscription
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
  let backplanes: Backplane[] = []

  const instance = async (): Promise<Backplane> => {
    const backplane = await factory()
    backplanes.push(backplane)
    return backplane
  }
  /** Subscribes to `channel` on `on`, or on a new backplane (another application instance). */
  const connect = async (channel: string, on?: Backplane): Promise<Peer> => {
    const backplane = on ?? (await instance())
    const frames: Uint8Array[] = []
    const gaps: BackplaneGap[] = []
    const states: BackplaneState[] = []
    const subscription = backplane.connect(channel, {
      onFrame: (frame) => frames.push(frame),
      onGap: (gap) => gaps.push(gap),
      onState: (state) => states.push(state),
    })
    await subscription.ready
    return { backplane, subscription, frames, gaps, states, closed: false }
  }
  const close = async (peer: Peer): Promise<void> => {
    peer.closed = true
    await peer.subscription.close()
  }
  const delivered = (peer: Peer, frame: Uint8Array, what: string) =>
    waitFor(() => heard(peer, frame), { timeoutMs, message: what })
  const context: SuiteContext = { connect, instance, close, delivered, timeoutMs, options }

  describe(name, () => {
    afterEach(async () => {
      const open = backplanes
      backplanes = []
      for (const backplane of open) await backplane.close()
      await options.cleanup?.()
    })
    describeOneChannel(context)
    describeFramesAndClose(context)
    describeMultiplex(context)
    describeMultiplexGap(context)
  })
}

interface SuiteContext {
  connect(channel: string, on?: Backplane): Promise<Peer>
  instance(): Promise<Backplane>
  close(peer: Peer): Promise<void>
  delivered(peer: Peer, frame: Uint8Array, what: string): Promise<unknown>
  readonly timeoutMs: number
  readonly options: DescribeBackplaneOptions
}

function describeOneChannel({ connect, delivered, timeoutMs }: SuiteContext): void {
  test('declares its capabilities', async () => {
    const { backplane } = await connect(randomKey('channel'))
    expect(typeof backplane.name).toBe('string')
    expect(typeof backplane.capabilities.replay).toBe('boolean')
    expect(typeof backplane.capabilities.multiplex).toBe('boolean')
    expect(backplane.capabilities.maxFrameBytes).toBeGreaterThan(0)
  })

  test('a published frame reaches every subscriber, the publisher included', async () => {
    const channel = randomKey('channel')
    const [a, b, c] = [await connect(channel), await connect(channel), await connect(channel)]
    const frame = encode(`hello ${channel}`)
    await a.subscription.publish(frame)
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
    await a.subscription.publish(x)
    await delivered(b, x, 'the frame on channel one')
    await c.subscription.publish(y)
    await delivered(c, y, 'the frame on channel two')
    expect(heard(c, x)).toBe(false)
    expect(heard(a, y) || heard(b, y)).toBe(false)
  })

  test('frames of one publisher arrive in order', async () => {
    const channel = randomKey('channel')
    const [a, b] = [await connect(channel), await connect(channel)]
    const count = 200
    for (let i = 0; i < count; i++) await a.subscription.publish(encode(`frame ${i}`))
    await waitFor(() => b.frames.length >= count, { timeoutMs, message: `${count} frames` })
    const texts = b.frames.map((frame) => new TextDecoder().decode(frame))
    expect(texts).toEqual(Array.from({ length: count }, (_, i) => `frame ${i}`))
  })
}

function describeFramesAndClose({ connect, close, delivered }: SuiteContext): void {
  test('frames are binary safe', async () => {
    const channel = randomKey('channel')
    const [a, b] = [await connect(channel), await connect(channel)]
    const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i)
    const zeros = new Uint8Array([0, 0, 0x0a, 0x0d, 0])
    const size = Math.min(a.backplane.capabilities.maxFrameBytes, 64 * 1024)
    const large = Uint8Array.from({ length: size }, (_, i) => (i * 131 + (i >> 7)) % 256)
    for (const frame of [everyByte, zeros, large]) await a.subscription.publish(frame)
    for (const frame of [everyByte, zeros, large])
      await delivered(b, frame, `a binary frame of ${frame.length} bytes`)
  })

  test('a closed subscription hears nothing more', async () => {
    const channel = randomKey('channel')
    const [a, b] = [await connect(channel), await connect(channel)]
    await close(b)
    const frame = encode('after close')
    await a.subscription.publish(frame)
    await delivered(a, frame, 'the frame back at its publisher')
    expect(b.frames).toEqual([])
  })

  test('publish after close rejects', async () => {
    const a = await connect(randomKey('channel'))
    await close(a)
    await expect(a.subscription.publish(encode('too late'))).rejects.toThrow()
    const b = await connect(randomKey('channel'))
    await b.backplane.close()
    await expect(b.subscription.publish(encode('too late'))).rejects.toThrow()
  })
}

/** A test of the multi-cache slice: skipped, visibly, for a backplane that does not multiplex. */
function multiplexTest(
  context: SuiteContext,
  title: string,
  body: () => Promise<void>,
  needsInterrupt = false,
) {
  test(title, async (t) => {
    const probe = await context.instance()
    if (!probe.capabilities.multiplex) {
      t.skip('the backplane does not multiplex (capabilities.multiplex is false)')
      return
    }
    if (needsInterrupt && context.options.interrupt === undefined) {
      t.skip('no `interrupt` option: the suite cannot break the connection')
      return
    }
    await body()
  })
}

/** Several caches on one backplane object: routing, independent close. */
function describeMultiplex(context: SuiteContext): void {
  const { connect, instance, close, delivered } = context
  const guarded = (title: string, body: () => Promise<void>) => multiplexTest(context, title, body)

  guarded('multiplex: one backplane routes each frame to its own channel only', async () => {
    const shared = await instance()
    const channels = [randomKey('channel'), randomKey('channel'), randomKey('channel')]
    const local = await Promise.all(channels.map((channel) => connect(channel, shared)))
    const remote = await Promise.all(channels.map((channel) => connect(channel)))
    for (const [i, peer] of remote.entries()) {
      const frame = encode(`to channel ${i}`)
      await peer.subscription.publish(frame)
      await delivered(local[i] as Peer, frame, `the frame of channel ${i} on the shared backplane`)
    }
    const back = encode('from the shared backplane')
    await local[1]?.subscription.publish(back)
    await delivered(remote[1] as Peer, back, 'a frame published through a shared subscription')
    await delivered(local[1] as Peer, back, 'the frame back at its publisher')
    expect(local.map((peer) => peer.frames.length)).toEqual([1, 2, 1])
    expect(heard(remote[0] as Peer, back) || heard(remote[2] as Peer, back)).toBe(false)
  })

  guarded('multiplex: closing one subscription leaves the others subscribed', async () => {
    const shared = await instance()
    const [one, two] = [randomKey('channel'), randomKey('channel')]
    const [a, b] = [await connect(one, shared), await connect(two, shared)]
    const [ra, rb] = [await connect(one), await connect(two)]
    await close(a)
    await rb.subscription.publish(encode('still here'))
    await delivered(b, encode('still here'), 'a frame for the subscription left open')
    await ra.subscription.publish(encode('gone'))
    await delivered(ra, encode('gone'), 'the frame back at its publisher')
    expect(a.frames).toEqual([])
    // The last subscription closed (the connection may close with it); a new one works again.
    await close(b)
    const again = await connect(one, shared)
    await ra.subscription.publish(encode('again'))
    await delivered(again, encode('again'), 'a frame after every subscription was closed once')
  })

  guarded('multiplex: two subscriptions on one channel each get every frame', async () => {
    const shared = await instance()
    const channel = randomKey('channel')
    const [a, b, remote] = [
      await connect(channel, shared),
      await connect(channel, shared),
      await connect(channel),
    ]
    await remote.subscription.publish(encode('twice'))
    await delivered(a, encode('twice'), 'the frame at the first subscription')
    await delivered(b, encode('twice'), 'the frame at the second subscription')
    await close(a)
    await remote.subscription.publish(encode('once'))
    await delivered(b, encode('once'), 'the frame at the subscription left open')
    expect(a.frames).toHaveLength(1)
  })
}

/** A gap on the shared connection reaches every cache on it. */
function describeMultiplexGap(context: SuiteContext): void {
  const { connect, instance, delivered, options } = context
  multiplexTest(
    context,
    'multiplex: a gap reaches every subscription of the backplane, which keeps delivering',
    async () => {
      const shared = await instance()
      const channels = [randomKey('channel'), randomKey('channel'), randomKey('channel')]
      const local = await Promise.all(channels.map((channel) => connect(channel, shared)))
      const remote = await Promise.all(channels.map((channel) => connect(channel)))
      await options.interrupt?.(shared)
      await waitFor(() => local.every((peer) => peer.gaps.length > 0), {
        timeoutMs: context.timeoutMs * 3,
        message: 'a gap at every subscription of the interrupted backplane',
      })
      for (const [i, peer] of remote.entries()) {
        const frame = encode(`after the gap ${i}`)
        await peer.subscription.publish(frame)
        await delivered(local[i] as Peer, frame, `channel ${i} delivering after the gap`)
      }
    },
    true,
  )
}
