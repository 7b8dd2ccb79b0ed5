/** The staleness checker itself: it must find a stale read when there is one, and only then. */
import { describe, expect, it } from 'vitest'
import { checkStaleness, type ProcessLog } from '../src/checker.js'

const writer = (writes: [number, number, number][]): ProcessLog => ({
  name: 'w',
  writes,
  reads: [],
  invalidations: [],
})

describe('checkStaleness', () => {
  it('reports a read older than a write acknowledged and delivered before the read started', () => {
    const reader: ProcessLog = { name: 'r', writes: [], reads: [[0, 1, 120]], invalidations: [[0, 110]] }
    const result = checkStaleness([writer([[0, 2, 100]]), reader])
    expect(result.violations).toEqual([{ reader: 'r', key: 0, read: 1, expectedAtLeast: 2, readStart: 120 }])
    expect(result.propagation).toMatchObject({ count: 1, p50: 10, max: 10 })
  })

  it('allows the old value before the invalidation arrived, or from a read already in flight', () => {
    const reader: ProcessLog = {
      name: 'r',
      writes: [],
      reads: [
        [0, 1, 105],
        [0, 1, 110],
      ],
      invalidations: [[0, 110]],
    }
    expect(checkStaleness([writer([[0, 2, 100]]), reader]).violations).toEqual([])
  })

  it('counts an invalidation from before the ack as nothing, and a cleared gap as an invalidation', () => {
    const stale: ProcessLog = { name: 'r', writes: [], reads: [[0, 1, 200]], invalidations: [[0, 90]] }
    const early = checkStaleness([writer([[0, 2, 100]]), stale])
    expect(early.violations).toEqual([])
    expect(early.undelivered).toBe(1)
    const gap: ProcessLog = { name: 'r', writes: [], reads: [[0, 1, 200]], invalidations: [[-1, 150]] }
    expect(checkStaleness([writer([[0, 2, 100]]), gap]).violations).toHaveLength(1)
  })

  it("counts an invalidation applied between a write's issue and its ack as delivered", () => {
    // The message leaves once the store took the write: a reader may apply it before the ack.
    const reader: ProcessLog = { name: 'r', writes: [], reads: [], invalidations: [[0, 99]] }
    const issued: ProcessLog = { name: 'w', writes: [[0, 2, 100, 98]], reads: [], invalidations: [] }
    expect(checkStaleness([issued, reader]).undelivered).toBe(0)
    const before: ProcessLog = { name: 'w', writes: [[0, 2, 100, 99.5]], reads: [], invalidations: [] }
    expect(checkStaleness([before, reader]).undelivered).toBe(1)
  })

  it('holds a process to its own acknowledged writes, and counts a miss as version 0', () => {
    const self: ProcessLog = { name: 'w', writes: [[0, 3, 100]], reads: [[0, 0, 101]], invalidations: [] }
    expect(checkStaleness([self]).violations).toHaveLength(1)
  })
})
