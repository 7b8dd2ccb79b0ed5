import { describe, expect, it } from 'vitest'
import { InvalidationFence } from '../src/invalidation-fence.js'

describe('InvalidationFence tickets', () => {
  it('keeps every reader of a key fenced whatever order the reads leave in', () => {
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
      [1, 2, 0],
    ]) {
      const fence = new InvalidationFence()
      const tickets = [fence.enter('k'), fence.enter('k'), fence.enter('k')]
      const [first, ...rest] = order.map((i) => tickets[i]!)
      fence.leave(first!)
      expect(fence.trackedKeys).toBe(1)
      fence.invalidate('k')
      // The reads still in flight are stale, the one that left is not touched again.
      for (const ticket of rest) expect(fence.isCurrent(ticket)).toBe(false)
      for (const ticket of rest) fence.leave(ticket)
      expect(fence.trackedKeys).toBe(0)
      const fresh = fence.enter('k')
      expect(fence.isCurrent(fresh)).toBe(true)
      fence.leave(fresh)
      expect(fence.trackedKeys).toBe(0)
    }
  })

  it('a read that left and a read of another key are not invalidated', () => {
    const fence = new InvalidationFence()
    const left = fence.enter('k')
    const other = fence.enter('o')
    const stays = fence.enter('k')
    fence.leave(left)
    fence.invalidate('k')
    expect(fence.isCurrent(left)).toBe(true)
    expect(fence.isCurrent(stays)).toBe(false)
    expect(fence.isCurrent(other)).toBe(true)
    fence.leave(stays)
    fence.leave(other)
    expect(fence.trackedKeys).toBe(0)
  })
})
