import { describe, expect, it } from 'vitest'
import { waitFor } from '../src/testing/wait-for.js'
import type { BackplaneListener } from '../src/contracts/backplane.js'
import { createBackplaneHub, memoryBackplane } from '../src/backplane/memory-backplane.js'
import { BackplaneFailedError, InvalidOptionsError } from '../src/errors.js'

function collector() {
  const frames: Uint8Array[] = []
  const listener: BackplaneListener = {
    onFrame: (frame) => frames.push(frame),
    onGap: () => {},
    onState: () => {},
  }
  return { frames, listener }
}

const bytes = (...values: number[]) => Uint8Array.from(values)

describe('memoryBackplane', () => {
  it('delivers every frame to every subscriber of the channel, the sender included, in order', async () => {
    const hub = createBackplaneHub()
    const a = memoryBackplane({ hub, name: 'a' })
    const b = memoryBackplane({ hub })
    const ca = collector()
    const cb = collector()
    const sa = a.connect('ch', ca.listener)
    await sa.ready
    await b.connect('ch', cb.listener).ready
    expect(hub.subscriberCount('ch')).toBe(2)
    for (let i = 0; i < 50; i++) await sa.publish(bytes(i))
    await waitFor(() => ca.frames.length === 50 && cb.frames.length === 50, { message: 'delivery' })
    expect(ca.frames.map((frame) => frame[0])).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(cb.frames.map((frame) => frame[0])).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(a.name).toBe('a')
    expect(b.name).toBe('memory')
    expect(a.capabilities.replay).toBe(false)
    expect(a.capabilities.multiplex).toBe(true)
    expect(a.capabilities.maxFrameBytes).toBeGreaterThanOrEqual(1 << 20)
  })

  it('delivers outside the publish call stack', async () => {
    const hub = createBackplaneHub()
    const a = memoryBackplane({ hub })
    const c = collector()
    const published = a.connect('ch', c.listener).publish(bytes(1))
    expect(c.frames).toHaveLength(0)
    await published
    expect(c.frames).toHaveLength(0)
    await waitFor(() => c.frames.length === 1, { message: 'delivery' })
  })

  it('gives each subscriber its own copy of the bytes', async () => {
    const hub = createBackplaneHub()
    const a = memoryBackplane({ hub })
    const b = memoryBackplane({ hub })
    const ca = collector()
    const cb = collector()
    const sa = a.connect('ch', ca.listener)
    b.connect('ch', cb.listener)
    // A Buffer on purpose: Buffer#slice shares memory, so a copy must not rely on it.
    const frame = Buffer.from([1, 2, 3])
    await sa.publish(frame)
    frame[0] = 99 // the publisher reusing its buffer must not change what is delivered
    await waitFor(() => ca.frames.length === 1 && cb.frames.length === 1, { message: 'delivery' })
    ca.frames[0]![1] = 42
    expect([...cb.frames[0]!]).toEqual([1, 2, 3])
    expect([...ca.frames[0]!]).toEqual([1, 42, 3])
    expect(ca.frames[0]).not.toBe(cb.frames[0])
  })

  it('isolates channels and hubs', async () => {
    const hub = createBackplaneHub()
    const other = createBackplaneHub()
    const sender = memoryBackplane({ hub })
    const sameChannel = collector()
    const otherChannel = collector()
    const otherHub = collector()
    const users = sender.connect('users', collector().listener)
    memoryBackplane({ hub }).connect('users', sameChannel.listener)
    memoryBackplane({ hub }).connect('orders', otherChannel.listener)
    memoryBackplane({ hub: other }).connect('users', otherHub.listener)
    await users.publish(bytes(7))
    await users.publish(bytes(8))
    await waitFor(() => sameChannel.frames.length === 2, { message: 'delivery on the same channel' })
    // Frames are delivered in publish order on one hub, so both were handled by now.
    expect(otherChannel.frames).toEqual([])
    expect(otherHub.frames).toEqual([])
    expect(other.framesPublished).toBe(0)
    expect(hub.framesPublished).toBe(2)
  })

  it('close unsubscribes; publish after close rejects; connect after close throws', async () => {
    const hub = createBackplaneHub()
    const a = memoryBackplane({ hub })
    const b = memoryBackplane({ hub })
    const cb = collector()
    const sa = a.connect('ch', collector().listener)
    const sb = b.connect('ch', cb.listener)
    // A second subscription on the same channel of one backplane is another listener.
    const again = a.connect('ch', collector().listener)
    expect(hub.subscriberCount('ch')).toBe(3)
    await again.close()
    const inFlight = sa.publish(bytes(1))
    await sb.close()
    await inFlight
    expect(hub.subscriberCount('ch')).toBe(1)
    await sa.publish(bytes(2))
    await a.close()
    await a.close()
    expect(hub.subscriberCount('ch')).toBe(0)
    await expect(sa.publish(bytes(3))).rejects.toBeInstanceOf(BackplaneFailedError)
    await expect(sb.publish(bytes(3))).rejects.toBeInstanceOf(BackplaneFailedError)
    expect(() => a.connect('ch', collector().listener)).toThrow(BackplaneFailedError)
    expect(() => b.connect('', collector().listener)).toThrow(InvalidOptionsError)
    // b closed before the first frame was delivered: like a closed socket, it heard nothing.
    const probe = collector()
    memoryBackplane({ hub }).connect('ch', probe.listener)
    memoryBackplane({ hub }).connect('ch', collector().listener)
    const publisher = memoryBackplane({ hub }).connect('ch', collector().listener)
    await publisher.publish(bytes(9))
    await waitFor(() => probe.frames.length === 1, { message: 'probe delivery' })
    expect(cb.frames).toEqual([])
  })

  it('reports a throwing subscriber and still delivers to the others', async () => {
    const seen: unknown[] = []
    const hub = createBackplaneHub({ onSubscriberError: (error) => seen.push(error) })
    const thrower = memoryBackplane({ hub })
    const c = collector()
    thrower.connect('ch', {
      ...c.listener,
      onFrame: () => {
        throw new Error('bad listener')
      },
    })
    const good = memoryBackplane({ hub })
    await good.connect('ch', c.listener).publish(bytes(1))
    await waitFor(() => c.frames.length === 1, { message: 'delivery' })
    expect(seen).toHaveLength(1)
  })

  it('validates its options', async () => {
    expect(() => memoryBackplane({} as never)).toThrow(InvalidOptionsError)
    const a = memoryBackplane({ hub: createBackplaneHub() })
    expect(() => a.connect('', collector().listener)).toThrow(InvalidOptionsError)
  })
})
