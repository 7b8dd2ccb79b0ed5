import { describe, expect, it } from 'vitest'
import { ClosedError, GenerationBinding, GenerationCounters, InvalidOptionsError } from '../src/index.js'
import { waitFor } from '../src/testing/wait-for.js'

/** Counters in a Map (an atomic increment), shared like a store between two handles. */
function sharedCounters() {
  const counters = new Map<string, number>()
  const increment = async (key: string, delta: number) => {
    const value = (counters.get(key) ?? 1) + delta
    counters.set(key, value)
    return value
  }
  return {
    counters,
    binding(refreshMs = 20) {
      const binding = new GenerationBinding<number, { generations: GenerationCounters<number> }>(
        "test handle 'h'",
        'h',
        refreshMs,
      )
      binding.bind('cache', () => ({
        generations: new GenerationCounters({
          store: { read: (key) => increment(key, 0), bump: (key) => increment(key, 1) },
          cacheKey: 'gen',
          regionKey: (region) => `gen:${region}`,
          refreshMs,
          newer: (candidate, held) => candidate > held,
          onUnannounced: binding.report,
        }),
      }))
      return binding
    },
  }
}

describe('GenerationBinding', () => {
  it('binds once per cache name and refuses another cache, an unbound use and a use after close', () => {
    const unbound = new GenerationBinding("test handle 'h'", 'h', 1_000)
    expect(() => unbound.scope()).toThrow(InvalidOptionsError)
    const binding = sharedCounters().binding()
    const scope = binding.scope()
    binding.bind('cache', () => {
      throw new Error('not created again')
    })
    expect(binding.scope()).toBe(scope)
    expect(() => binding.bind('other', () => scope)).toThrow(InvalidOptionsError)
    expect(binding.close()).toBe(true)
    expect(binding.close()).toBe(false)
    expect(() => binding.scope()).toThrow(ClosedError)
  })

  it("reports another handle's clear within the sweep interval while listened to, and not its own", async () => {
    const store = sharedCounters()
    const [a, b] = [store.binding(), store.binding()]
    const reports: Array<string | undefined> = []
    const off = b.onExternalClear((region) => reports.push(region))
    await Promise.all([b.scope().generations.cache(), b.scope().generations.region('eu')])
    await b.clearRegion('us')
    await a.clearRegion('eu')
    await waitFor(() => reports.length > 0, { message: 'the unannounced region clear' })
    expect(reports).toEqual(['eu'])
    await a.clear()
    await b.onRemoteClear(undefined)
    off()
    a.close()
    b.close()
    expect(reports).toEqual(['eu'])
  })
})
