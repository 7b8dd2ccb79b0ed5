// The subscriber connection's liveness (issue 20): a silent connection (a partition that drops
// packets and leaves sockets open) is reported `suspect` within maxSilenceMs and replaced; once
// the new subscription is confirmed, a gap follows — on every channel the connection carried.
import { InvalidOptionsError } from '@cacheplane/core'
import { randomKey, waitFor } from '@cacheplane/core/testing'
import { startTcpProxy, type TcpProxy } from '@cacheplane/test-servers'
import { afterEach, describe, expect, it } from 'vitest'
import { redisBackplane } from '../src/index.js'
import { RecordingListener } from './recording-listener.js'
import { standalone } from './topologies.js'

const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** One backplane through a proxy that can blackhole it, with one listener per channel. */
async function throughProxy(maxSilenceMs: number, channels = 1) {
  const url = new URL(standalone.options().url ?? '')
  const proxy: TcpProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) })
  closers.push(() => proxy.close())
  const backplane = redisBackplane({ url: `redis://127.0.0.1:${proxy.port}`, maxSilenceMs })
  closers.push(() => backplane.close())
  const listeners = Array.from({ length: channels }, () => new RecordingListener())
  const subscriptions = listeners.map((listener) => backplane.connect(randomKey('cacheplane:live'), listener))
  await Promise.all(subscriptions.map((subscription) => subscription.ready))
  return { proxy, listeners }
}

describe('redisBackplane liveness', () => {
  it('reports a blackholed subscriber suspect within maxSilenceMs, then a gap once subscribed again', async () => {
    const { proxy, listeners } = await throughProxy(400)
    const [listener] = listeners as [RecordingListener]
    proxy.blackhole()
    const cutAt = Date.now()
    await waitFor(() => listener.states.includes('suspect'), { message: 'suspect', timeoutMs: 5_000 })
    const detectedMs = Date.now() - cutAt
    // The bound, plus timer slack on a shared machine.
    expect(detectedMs).toBeLessThanOrEqual(400 + 300)
    expect(listener.states).toEqual(['connected', 'suspect', 'disconnected'])
    expect(listener.gaps).toEqual([])
    proxy.heal()
    await waitFor(() => listener.gaps.length === 1, { message: 'the gap after healing', timeoutMs: 20_000 })
    expect(listener.gaps[0]).toMatchObject({ reason: 'silence', recovered: false })
    expect(listener.states.at(-1)).toBe('connected')
  })

  it('reports suspect and a gap to every channel of a silent connection shared by several caches', async () => {
    const { proxy, listeners } = await throughProxy(400, 2)
    proxy.blackhole()
    await waitFor(() => listeners.every((listener) => listener.states.includes('suspect')), {
      message: 'suspect on every channel',
      timeoutMs: 5_000,
    })
    for (const listener of listeners)
      expect(listener.states).toEqual(['connected', 'suspect', 'disconnected'])
    proxy.heal()
    await waitFor(() => listeners.every((listener) => listener.gaps.length === 1), {
      message: 'the gap on every channel after healing',
      timeoutMs: 20_000,
    })
    for (const listener of listeners) {
      expect(listener.gaps[0]).toMatchObject({ reason: 'silence', recovered: false })
      expect(listener.states.at(-1)).toBe('connected')
    }
  })

  it('a healthy connection is never suspect', async () => {
    const { listeners } = await throughProxy(200, 2)
    // A window in which nothing may happen: twelve probe periods.
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    for (const listener of listeners) {
      expect(listener.states).toEqual(['connected'])
      expect(listener.gaps).toEqual([])
    }
  })

  it('declares its bound and validates it', () => {
    expect(redisBackplane({ redis: { lazyConnect: true } }).capabilities.maxSilenceMs).toBe(1_500)
    expect(
      redisBackplane({ redis: { lazyConnect: true }, maxSilenceMs: 500 }).capabilities.maxSilenceMs,
    ).toBe(500)
    for (const bad of [0, 10, -5, Number.NaN, '1s' as never]) {
      expect(() => redisBackplane({ redis: { lazyConnect: true }, maxSilenceMs: bad })).toThrow(
        InvalidOptionsError,
      )
    }
  })
})
