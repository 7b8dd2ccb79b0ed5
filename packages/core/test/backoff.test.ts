import { afterEach, describe, expect, it, vi } from 'vitest'
import { Backoff, InvalidOptionsError } from '../src/index.js'

/** A random source that returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0
  return () => values[i++ % values.length]!
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Backoff', () => {
  it('doubles the ceiling from baseDelayMs up to maxDelayMs', () => {
    // random() = 1 - epsilon is the top of each range; 0 is the bottom (half the ceiling).
    const top = new Backoff({ baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.999_999 })
    const ceilings = Array.from({ length: 6 }, () => Math.round(top.next()))
    expect(ceilings).toEqual([100, 200, 400, 800, 1_000, 1_000])
    const bottom = new Backoff({ baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0 })
    expect(Array.from({ length: 6 }, () => bottom.next())).toEqual([50, 100, 200, 400, 500, 500])
  })

  it('draws the jitter over the upper half of each ceiling', () => {
    const backoff = new Backoff({ baseDelayMs: 100, maxDelayMs: 100, random: sequence(0, 0.5, 0.25) })
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([50, 75, 62.5])
  })

  it('counts attempts and starts over after reset()', () => {
    const backoff = new Backoff({ baseDelayMs: 10, maxDelayMs: 1_000, random: () => 0 })
    backoff.next()
    backoff.next()
    expect(backoff.attempts).toBe(2)
    backoff.reset()
    expect(backoff.attempts).toBe(0)
    expect(backoff.next()).toBe(5)
  })

  it('stays finite and capped after very many attempts', () => {
    const backoff = new Backoff({ baseDelayMs: 1, maxDelayMs: 5_000, random: () => 0.999_999 })
    let last = 0
    for (let i = 0; i < 2_000; i++) last = backoff.next()
    expect(last).toBeLessThanOrEqual(5_000)
    expect(last).toBeGreaterThan(4_999)
  })

  it('rejects a non-positive base and a cap below the base with InvalidOptionsError', () => {
    expect(() => new Backoff({ baseDelayMs: 0, maxDelayMs: 10 })).toThrow(InvalidOptionsError)
    expect(() => new Backoff({ baseDelayMs: Number.NaN, maxDelayMs: 10 })).toThrow(InvalidOptionsError)
    expect(() => new Backoff({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow(InvalidOptionsError)
  })

  it('wait() resolves true once the drawn delay elapsed, not before', async () => {
    vi.useFakeTimers()
    const backoff = new Backoff({ baseDelayMs: 200, maxDelayMs: 200, random: () => 0 })
    let result: boolean | undefined
    void backoff.wait().then((elapsed) => {
      result = elapsed
    })
    await vi.advanceTimersByTimeAsync(99)
    expect(result).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1)
    expect(result).toBe(true)
  })

  it('wait() resolves false as soon as its signal aborts, and at once when already aborted', async () => {
    vi.useFakeTimers()
    const backoff = new Backoff({ baseDelayMs: 10_000, maxDelayMs: 10_000, random: () => 0 })
    const controller = new AbortController()
    let result: boolean | undefined
    void backoff.wait(controller.signal).then((elapsed) => {
      result = elapsed
    })
    await vi.advanceTimersByTimeAsync(10)
    controller.abort()
    await vi.advanceTimersByTimeAsync(0)
    expect(result).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
    expect(await backoff.wait(controller.signal)).toBe(false)
  })
})
