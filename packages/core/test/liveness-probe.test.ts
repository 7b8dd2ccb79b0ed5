import { createServer, connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_SILENCE_MS,
  InvalidOptionsError,
  LivenessProbe,
  resolveMaxSilenceMs,
} from '../src/index.js'
import { waitFor } from '../src/testing/index.js'

const probes: LivenessProbe[] = []
afterEach(() => {
  for (const probe of probes.splice(0)) probe.stop()
})

/** A probe over a round trip the test answers (or not), recording what it reports. */
function probe(maxSilenceMs: number, roundTrip: () => Promise<unknown>) {
  const reports: Array<{ what: 'suspect' | 'live'; at: number }> = []
  const started = performance.now()
  const p = new LivenessProbe({
    maxSilenceMs,
    roundTrip,
    onSuspect: () => reports.push({ what: 'suspect', at: performance.now() - started }),
    onLive: () => reports.push({ what: 'live', at: performance.now() - started }),
  })
  probes.push(p)
  return { probe: p, reports }
}

describe('LivenessProbe', () => {
  it('reports nothing while the server answers, with one round trip in flight at a time', async () => {
    let inFlight = 0
    let most = 0
    let sent = 0
    const { reports } = probe(100, async () => {
      sent++
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise((resolve) => setTimeout(resolve, 5))
      inFlight--
    })
    await waitFor(() => sent >= 8, { message: 'eight round trips', timeoutMs: 5_000 })
    expect(reports).toEqual([])
    expect(most).toBe(1)
  })

  it('reports silence within maxSilenceMs of the last answer, once, then the answer that ends it', async () => {
    let answering = true
    let lastAnswer = 0
    const started = performance.now()
    let release: (() => void) | undefined
    const { reports, probe: p } = probe(200, () => {
      if (answering) {
        lastAnswer = performance.now() - started
        return Promise.resolve()
      }
      return new Promise<void>((resolve) => {
        release = resolve
      })
    })
    await waitFor(() => lastAnswer > 0, { message: 'a first answer' })
    answering = false
    await waitFor(() => reports.length === 1, { message: 'silence to be reported', timeoutMs: 2_000 })
    expect(reports[0]!.what).toBe('suspect')
    // The bound, plus timer slack on a busy machine.
    expect(reports[0]!.at - lastAnswer).toBeLessThanOrEqual(200 + 100)
    expect(p.suspect).toBe(true)
    answering = true
    release?.()
    await waitFor(() => reports.length === 2, { message: 'the end of the silence' })
    expect(reports[1]!.what).toBe('live')
    expect(p.suspect).toBe(false)
  })

  it('a rejected or throwing round trip is no answer', async () => {
    const { reports } = probe(100, () => {
      throw new Error('closed')
    })
    await waitFor(() => reports.length === 1, { message: 'silence to be reported' })
    expect(reports[0]!.what).toBe('suspect')
  })

  it('an event loop blocked past the deadline is no false alarm when the answer is already in the socket', async () => {
    const server = createServer((socket) => {
      socket.on('data', (chunk) => socket.write(chunk))
      socket.on('error', () => {}) // a reset when the client goes away at the end
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no address')
    const client: Socket = connect({ host: '127.0.0.1', port: address.port })
    await new Promise((resolve) => client.once('connect', resolve))
    client.on('error', () => {})
    let pending: (() => void) | undefined
    client.on('data', () => pending?.())
    let trips = 0
    const { reports } = probe(100, () => {
      trips++
      const answered = new Promise<void>((resolve) => {
        pending = resolve
      })
      client.write('p')
      // Block the loop for three deadlines right after sending: the echo arrives meanwhile and
      // waits in the socket while the deadline's timer falls due (timers run before I/O).
      setImmediate(() => {
        const until = Date.now() + 150
        while (Date.now() < until) {}
      })
      return answered
    })
    await waitFor(() => trips >= 4, { message: 'four blocked round trips', timeoutMs: 5_000 })
    expect(reports).toEqual([])
    client.destroy()
    await new Promise((resolve) => server.close(resolve))
  })

  it('stop() ends probing', async () => {
    let sent = 0
    const { probe: p } = probe(100, async () => {
      sent++
    })
    await waitFor(() => sent >= 1, { message: 'a round trip' })
    p.stop()
    const before = sent
    await new Promise((resolve) => setTimeout(resolve, 200)) // a window in which nothing may happen
    expect(sent).toBe(before)
  })
})

describe('resolveMaxSilenceMs', () => {
  it('defaults to 1.5 s and rejects what a timer cannot honour', () => {
    expect(resolveMaxSilenceMs(undefined, 'x')).toBe(DEFAULT_MAX_SILENCE_MS)
    expect(DEFAULT_MAX_SILENCE_MS).toBe(1_500)
    expect(resolveMaxSilenceMs(250, 'x')).toBe(250)
    for (const bad of [0, 50, -1, Number.NaN, Number.POSITIVE_INFINITY, '1000', 4_000_000]) {
      expect(() => resolveMaxSilenceMs(bad, 'redisBackplane')).toThrow(InvalidOptionsError)
    }
  })
})
