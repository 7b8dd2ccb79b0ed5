/**
 * The stamp cache is bounded (`MAX_CACHED_STAMPS`): past the limit the oldest stamps are
 * forgotten, and a forgotten stamp costs a read, never a stale hit. A stamp forgotten while a
 * write loads it (dropped by a gap) is read again too: the write records the stamp.
 */
import { memoryHandle } from '@cacheplane/memory'
import { describe, expect, it } from 'vitest'
import { CacheEmitter } from '../src/events.js'
import { InvalidationFence } from '../src/invalidation-fence.js'
import { Layer } from '../src/layer.js'
import { TAGS_CURRENT, TAGS_INVALIDATED, TagStamps } from '../src/tag-stamps.js'
import { TaggedValue } from '../src/tags.js'

function stampsOver(
  limit: number,
  store = memoryHandle({ name: 'shared', distributed: true }),
  onStampLost?: () => void,
): TagStamps {
  const bottom = new Layer(store, 0, undefined, false)
  const options = onStampLost === undefined ? { limit } : { limit, onStampLost }
  return new TagStamps(bottom, new CacheEmitter(), new InvalidationFence(), options)
}

describe('the tag stamp cache', () => {
  it('keeps at most its limit of stamps, forgetting the oldest', async () => {
    const stamps = stampsOver(3)
    await stamps.load(['t1', 't2', 't3', 't4', 't5'])
    expect(stamps.size).toBe(3)
    // A forgotten stamp is read again when needed: the item written before is judged by it.
    expect(stamps.check(new TaggedValue('v', ['t1'], [0]))).toBe(TAGS_CURRENT)
    expect(stamps.size).toBe(3)
  })

  it('judges again an item verified by a stamp it forgot, so its own removeByTag is never missed', async () => {
    const stamps = stampsOver(2)
    const item = new TaggedValue('v', ['a'], await stamps.marks(['a']))
    expect(stamps.check(item)).toBe(TAGS_CURRENT) // verified: later hits compare one version
    await stamps.load(['b', 'c']) // 'a' is the oldest: forgotten
    await stamps.invalidate(['a'], () => undefined) // installs a stamp with none before it
    expect(stamps.check(item)).toBe(TAGS_INVALIDATED)
  })

  it('judges a remote invalidation of a forgotten tag on a memory-only bottom', async () => {
    const bottom = new Layer(memoryHandle({ name: 'local' }), 0, undefined, false)
    const stamps = new TagStamps(bottom, new CacheEmitter(), new InvalidationFence(), { limit: 2 })
    const item = new TaggedValue('v', ['a'], await stamps.marks(['a']))
    expect(stamps.check(item)).toBe(TAGS_CURRENT)
    await stamps.load(['b', 'c'])
    stamps.applyRemote('a', 12345)
    expect(stamps.check(item)).toBe(TAGS_INVALIDATED)
  })

  it('remembers at most its limit of tags known to have a stamp: a stamp lost from the store is a clear', async () => {
    const store = memoryHandle({ name: 'shared', distributed: true })
    let lost = 0
    const stamps: TagStamps = stampsOver(2, store, () => {
      lost++
      stamps.drop()
    })
    await stamps.invalidate(['a', 'b', 'c'], () => undefined) // 'a' is the oldest: forgotten
    store.clear() // a clear this instance has not heard of: the stamps go with it
    await stamps.load(['a'])
    expect(lost).toBe(0) // forgotten past the limit: "no stamp" is believed, as for a tag never met
    stamps.applyRemote('c', 1) // read again from the store: none there
    await stamps.load(['c'])
    expect(lost).toBe(1) // taken for the clear: everything cached is dropped
    await stamps.load(['b', 'c'])
    expect(lost).toBe(1) // after the drop "no stamp" is trusted again
    expect(stamps.check(new TaggedValue('v', ['b', 'c'], [0, 0]))).toBe(TAGS_CURRENT)
  })
})

describe('the marks a tagged write records', () => {
  it('are the stamps, even when the cached stamps are dropped while they load (a gap during the write)', async () => {
    const store = memoryHandle({ name: 'shared', distributed: true })
    const writer = stampsOver(100, store)
    let stamp = 0
    await writer.invalidate(['a'], (_tag, written) => {
      stamp = written
    })
    const reader = stampsOver(100, store)
    const marks = reader.marks(['a'])
    reader.drop() // the gap arrives between the load and the marks
    expect(await marks).toEqual([stamp])
    expect(reader.check(new TaggedValue('v', ['a'], [stamp]))).toBe(TAGS_CURRENT)
  })
})
