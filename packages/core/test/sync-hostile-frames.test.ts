import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../src/testing/wait-for.js'
import { type Cluster, cluster } from './sync-fixtures.js'

let c: Cluster | undefined
afterEach(async () => {
  await c?.close()
  c = undefined
})

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('hostile frames on the channel', () => {
  it('10,000 random and mutated frames never throw out of the receive path and never evict anything', async () => {
    c = await cluster(2, { extra: { secret: 'shared-secret' } })
    const [a, b] = c.managers as [(typeof c.managers)[0], (typeof c.managers)[0]]
    const channel = 'cacheplane:users'
    const captured: Uint8Array[] = []
    const off = c.hub.subscribe(channel, (frame) => captured.push(new Uint8Array(frame)))
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
    for (const key of keys) await a.set(key, key, { region: key.length % 2 ? 'r' : undefined })
    // Let A's genuine invalidations land first, so what B then copies into memory stays there.
    await waitFor(() => b.stats().backplane?.messagesReceived === keys.length)
    for (const key of keys) expect(await b.get(key, { region: key.length % 2 ? 'r' : undefined })).toBe(key)
    off()
    const removesBefore = b.stats().handles.memory?.removes
    const clearsBefore = b.stats().handles.memory?.clears
    const receivedBefore = b.stats().backplane?.framesReceived ?? 0
    const random = prng(42)
    const frames = 10_000
    for (let i = 0; i < frames; i++) {
      let frame: Uint8Array
      if (i % 2 === 0) {
        frame = new Uint8Array(Math.floor(random() * 200))
        for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(random() * 256)
      } else {
        const source = captured[i % captured.length]!
        frame = new Uint8Array(source)
        const flips = 1 + Math.floor(random() * 4)
        for (let f = 0; f < flips; f++) {
          const at = Math.floor(random() * frame.length)
          frame[at] = frame[at]! ^ (1 + Math.floor(random() * 255)) // always a real change: a replay is not hostile
        }
        if (random() < 0.2) frame = frame.subarray(0, Math.floor(random() * frame.length))
      }
      c.hub.publish(channel, frame)
    }
    await waitFor(() => (b.stats().backplane?.framesReceived ?? 0) >= receivedBefore + frames, {
      timeoutMs: 15_000,
    })
    expect(b.stats().handles.memory?.removes).toBe(removesBefore)
    expect(b.stats().handles.memory?.clears).toBe(clearsBefore)
    expect(b.stats().backplane?.messagesReceived).toBe(keys.length) // only the genuine ones
    expect(b.stats().backplane?.droppedInvalid).toBeGreaterThan(9_000)
    for (const key of keys) {
      const hit = await b.getItem(key, { region: key.length % 2 ? 'r' : undefined })
      expect(hit?.level).toBe(0) // still in memory
    }
  })
})
