// Issue 19: a `set` that hears its store's reply late must not write its (older) value into
// the levels above when the key was invalidated while the bottom write was in flight.
import { memoryHandle } from '@cacheplane/memory'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheHandle,
  CacheManager,
  createBackplaneHub,
  type ItemInput,
  memoryBackplane,
} from '../src/index.js'
import { quiesce, spyHandle } from './sync-fixtures.js'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

/**
 * A view of a shared store whose next `set` reaches the store at once but whose reply is
 * held until released (a slow link back to the writer).
 */
function lateReplies(shared: CacheHandle<unknown>) {
  let hold: { reached: () => void; gate: Promise<void> } | undefined
  const handle = spyHandle(shared, {
    capabilities: { ...shared.capabilities, synchronous: false },
    async set(key: string, region: string | undefined, item: ItemInput<unknown>) {
      const version = await shared.set(key, region, item)
      const held = hold
      hold = undefined
      if (held !== undefined) {
        held.reached()
        await held.gate
      }
      return version
    },
  })
  const holdNextReply = () => {
    let release!: () => void
    let reached!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const landed = new Promise<void>((r) => {
      reached = r
    })
    hold = { reached, gate }
    return { landed, release }
  }
  return { handle, holdNextReply }
}

/** Instance `a` hears its store late; `b` talks to the store directly. `middle` adds a local level. */
async function pair(middle: boolean) {
  const hub = createBackplaneHub()
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const slow = lateReplies(shared)
  const levels = (bottom: CacheHandle<unknown>) =>
    (middle
      ? [memoryHandle({ name: 'l1' }), memoryHandle({ name: 'l2' }), bottom]
      : [memoryHandle({ name: 'l1' }), bottom]) as CacheHandle<unknown>[]
  const a = new CacheManager<unknown>({
    name: 'c',
    handles: levels(slow.handle),
    backplane: memoryBackplane({ hub, name: 'a' }),
  })
  const b = new CacheManager<unknown>({
    name: 'c',
    handles: levels(shared),
    backplane: memoryBackplane({ hub, name: 'b' }),
  })
  closers.push(
    () => a.close(),
    () => b.close(),
  )
  await Promise.all([a.ready(), b.ready()])
  return { a, b, slow }
}

describe('the write fence (set)', () => {
  for (const middle of [false, true]) {
    it(`a set whose store reply arrives after a newer remote write does not install its value (${middle ? 3 : 2} levels)`, async () => {
      const { a, b, slow } = await pair(middle)
      const reply = slow.holdNextReply()
      const writing = a.set('k', 'from-a')
      await reply.landed // A's value is in the store; A has not heard back
      await b.set('k', 'from-b') // the store now holds B's value
      await quiesce([a, b]) // B's invalidation reached A, which had nothing to evict
      reply.release()
      await writing
      await quiesce([a, b])
      expect(await a.get('k')).toBe('from-b')
      expect(a.peek('k')).toBe('from-b')
      expect(await b.get('k')).toBe('from-b')
    })
  }

  it('a set without a concurrent invalidation still writes every level', async () => {
    const { a, slow } = await pair(true)
    const reply = slow.holdNextReply()
    const writing = a.set('k', 'v')
    await reply.landed
    reply.release()
    await writing
    expect(a.peek('k')).toBe('v')
    expect(a.stats().handles.l2?.sets).toBe(1)
  })
})
