import { expect } from 'vitest'
import type { BackplaneSuiteContext, Peer } from './describe-backplane.js'
import { randomKey, waitFor } from './wait-for.js'

/**
 * One check of the Backplane conformance suite. Checks are data so that core's own tests
 * can run each one against deliberately broken backplanes and show it fails for them.
 */
export interface BackplaneCheck {
  /** The test title. */
  readonly title: string
  /** What the check needs beyond the contract: a multiplexing backplane, and the `interrupt` option. */
  readonly needs?: 'multiplex' | 'interrupt'
  /** Exercises the backplanes of the context; rejects when one breaks the contract. */
  readonly run: (context: BackplaneSuiteContext) => Promise<void>
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text)
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))
/** Whether `peer` received `frame`. */
export const heard = (peer: Peer, frame: Uint8Array): boolean => peer.frames.some((f) => same(f, frame))
const channel = () => randomKey('channel')

/** One channel: delivery to every subscriber, isolation, order, binary frames, close. */
const oneChannelChecks: readonly BackplaneCheck[] = [
  {
    title: 'declares its capabilities',
    async run({ connect }) {
      const { backplane } = await connect(channel())
      expect(typeof backplane.name).toBe('string')
      expect(typeof backplane.capabilities.replay).toBe('boolean')
      expect(typeof backplane.capabilities.multiplex).toBe('boolean')
      expect(backplane.capabilities.maxFrameBytes).toBeGreaterThan(0)
    },
  },
  {
    title: 'a published frame reaches every subscriber, the publisher included',
    async run({ connect, delivered }) {
      const name = channel()
      const [a, b, c] = [await connect(name), await connect(name), await connect(name)]
      const frame = encode(`hello ${name}`)
      await a.subscription.publish(frame)
      await delivered(b, frame, 'the frame at another subscriber')
      await delivered(c, frame, 'the frame at a third subscriber')
      await delivered(a, frame, 'the frame back at its publisher')
      expect([a, b, c].map((peer) => peer.frames.length)).toEqual([1, 1, 1])
    },
  },
  {
    title: 'channels are isolated',
    async run({ connect, delivered }) {
      const [one, two] = [channel(), channel()]
      const [a, b, c] = [await connect(one), await connect(one), await connect(two)]
      const x = encode('on channel one')
      const y = encode('on channel two')
      await a.subscription.publish(x)
      await delivered(b, x, 'the frame on channel one')
      await c.subscription.publish(y)
      await delivered(c, y, 'the frame on channel two')
      expect(heard(c, x)).toBe(false)
      expect(heard(a, y) || heard(b, y)).toBe(false)
    },
  },
  {
    title: 'frames of one publisher arrive in order',
    async run({ connect, timeoutMs }) {
      const name = channel()
      const [a, b] = [await connect(name), await connect(name)]
      const count = 200
      for (let i = 0; i < count; i++) await a.subscription.publish(encode(`frame ${i}`))
      await waitFor(() => b.frames.length >= count, { timeoutMs, message: `${count} frames` })
      const texts = b.frames.map((frame) => new TextDecoder().decode(frame))
      expect(texts).toEqual(Array.from({ length: count }, (_, i) => `frame ${i}`))
    },
  },
  {
    title: 'frames are binary safe',
    async run({ connect, delivered }) {
      const name = channel()
      const [a, b] = [await connect(name), await connect(name)]
      const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i)
      const zeros = new Uint8Array([0, 0, 0x0a, 0x0d, 0])
      const size = Math.min(a.backplane.capabilities.maxFrameBytes, 64 * 1024)
      const large = Uint8Array.from({ length: size }, (_, i) => (i * 131 + (i >> 7)) % 256)
      for (const frame of [everyByte, zeros, large]) await a.subscription.publish(frame)
      for (const frame of [everyByte, zeros, large])
        await delivered(b, frame, `a binary frame of ${frame.length} bytes`)
    },
  },
  {
    title: 'a closed subscription hears nothing more',
    async run({ connect, close, delivered }) {
      const name = channel()
      const [a, b] = [await connect(name), await connect(name)]
      await close(b)
      const frame = encode('after close')
      await a.subscription.publish(frame)
      await delivered(a, frame, 'the frame back at its publisher')
      expect(b.frames).toEqual([])
    },
  },
  {
    title: 'publish after close rejects',
    async run({ connect, close }) {
      const a = await connect(channel())
      await close(a)
      await expect(a.subscription.publish(encode('too late'))).rejects.toThrow()
      const b = await connect(channel())
      await b.backplane.close()
      await expect(b.subscription.publish(encode('too late'))).rejects.toThrow()
    },
  },
]

/** Subscriptions on `shared` and on other backplanes for each of `count` new channels. */
async function crossPeers(context: BackplaneSuiteContext, count: number) {
  const shared = await context.instance()
  const channels = Array.from({ length: count }, channel)
  const local = await Promise.all(channels.map((name) => context.connect(name, shared)))
  const remote = await Promise.all(channels.map((name) => context.connect(name)))
  return { shared, local, remote }
}

/** Has each remote peer publish, and waits for the frame at the local peer of its channel. */
async function eachChannelDelivers(
  context: BackplaneSuiteContext,
  local: Peer[],
  remote: Peer[],
  label: string,
) {
  for (const [i, peer] of remote.entries()) {
    const frame = encode(`${label} ${i}`)
    await peer.subscription.publish(frame)
    await context.delivered(
      local[i] as Peer,
      frame,
      `the frame of channel ${i} on the shared backplane (${label})`,
    )
  }
}

/** Several caches on one backplane object: routing, independent close, a gap on the shared connection. */
const multiplexChecks: readonly BackplaneCheck[] = [
  {
    title: 'multiplex: one backplane routes each frame to its own channel only',
    needs: 'multiplex',
    async run(context) {
      const { local, remote } = await crossPeers(context, 3)
      await eachChannelDelivers(context, local, remote, 'to channel')
      const back = encode('from the shared backplane')
      await local[1]?.subscription.publish(back)
      await context.delivered(remote[1] as Peer, back, 'a frame published through a shared subscription')
      await context.delivered(local[1] as Peer, back, 'the frame back at its publisher')
      expect(local.map((peer) => peer.frames.length)).toEqual([1, 2, 1])
      expect(heard(remote[0] as Peer, back) || heard(remote[2] as Peer, back)).toBe(false)
    },
  },
  {
    title: 'multiplex: closing one subscription leaves the others subscribed',
    needs: 'multiplex',
    async run({ connect, instance, close, delivered }) {
      const shared = await instance()
      const [one, two] = [channel(), channel()]
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
    },
  },
  {
    title: 'multiplex: two subscriptions on one channel each get every frame',
    needs: 'multiplex',
    async run({ connect, instance, close, delivered }) {
      const shared = await instance()
      const name = channel()
      const [a, b, remote] = [await connect(name, shared), await connect(name, shared), await connect(name)]
      await remote.subscription.publish(encode('twice'))
      await delivered(a, encode('twice'), 'the frame at the first subscription')
      await delivered(b, encode('twice'), 'the frame at the second subscription')
      await close(a)
      await remote.subscription.publish(encode('once'))
      await delivered(b, encode('once'), 'the frame at the subscription left open')
      expect(a.frames).toHaveLength(1)
    },
  },
  {
    title: 'multiplex: a gap reaches every subscription of the backplane, which keeps delivering',
    needs: 'interrupt',
    async run(context) {
      const { shared, local, remote } = await crossPeers(context, 3)
      await context.options.interrupt?.(shared)
      await waitFor(() => local.every((peer) => peer.gaps.length > 0), {
        timeoutMs: context.timeoutMs * 3,
        message: 'a gap at every subscription of the interrupted backplane',
      })
      await eachChannelDelivers(context, local, remote, 'after the gap')
    },
  },
]

/** Every check of the Backplane conformance suite, in order. */
export const backplaneChecks: readonly BackplaneCheck[] = [...oneChannelChecks, ...multiplexChecks]
