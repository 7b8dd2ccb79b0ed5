/**
 * Histories the model found, kept as regression tests (shrunk counterexamples, replayed as
 * is). Each must satisfy every invariant of the model; on failure the timeline is printed.
 */
import { describe, expect, it } from 'vitest'
import type { History, Operation, Slot } from './history.js'
import type { TtlMode } from './operations.js'
import { formatTimeline, formatViolations, memoryStore, runHistory } from './index.js'

const set = (instance: number, slot: Slot) =>
  ({ kind: 'op', instance, op: { kind: 'set', slot, ttl: 0 } }) as const
const get = (instance: number, slot: Slot) => ({ kind: 'op', instance, op: { kind: 'get', slot } }) as const
const run = (pick: number) => ({ kind: 'run', pick }) as const
/** A history of two instances over ordered connections, drained oldest first. */
const twoOrdered = (steps: History['steps']): History => ({
  instances: 2,
  unordered: false,
  steps,
  drain: [],
})

async function expectClean(history: History, grace = 0, mode: TtlMode = 'absolute'): Promise<void> {
  const record = await runHistory(history, memoryStore, grace > 0 ? { grace } : {}, mode)
  const report = `${formatViolations(record)}\ntimeline:\n${formatTimeline(record)}`
  expect(record.violations.length === 0 ? '' : report).toBe('')
}

describe('histories found by the model', () => {
  it('issue 19: a set whose store reply comes late does not put back a value another instance replaced', async () => {
    // i0's write reaches the store; i1's set lands after it and its frame reaches i0 before
    // i0 hears its own reply; then i0 must not keep s1 in memory (the store holds s2).
    await expectClean({
      instances: 2,
      unordered: false,
      steps: [set(0, 'a'), run(0), set(1, 'a'), run(1), run(1), run(1)],
      drain: [],
    })
  })

  it('issue 19: nor a value another instance cleared', async () => {
    await expectClean(
      twoOrdered([
        set(0, 'a'),
        run(0),
        { kind: 'op', instance: 1, op: { kind: 'clear' } },
        run(3),
        run(3),
        run(3),
      ]),
    )
  })

  it('issue 17: an update prepared against an item does not apply to a new item after remove + add', async () => {
    await expectClean(
      twoOrdered([
        { kind: 'op', instance: 0, op: { kind: 'add', slot: 'a', ttl: 0 } },
        { kind: 'op', instance: 0, op: { kind: 'update', slot: 'a' } },
        { kind: 'op', instance: 0, op: { kind: 'remove', slot: 'a' } },
        { kind: 'op', instance: 0, op: { kind: 'add', slot: 'a', ttl: 0 } },
      ]),
    )
  })

  it('issue 17: a key set, removed and set again does not get its old version again', async () => {
    await expectClean({
      instances: 2,
      unordered: false,
      steps: [set(0, 'a'), { kind: 'op', instance: 0, op: { kind: 'remove', slot: 'a' } }, set(0, 'a')],
      drain: [],
    })
  })
  it('getOrAdd that wins the add replaces an older copy above (one written before an unheard clear)', async () => {
    // i0's set(a, s1) is in memory; i1 clears the store, which i0 has not heard yet; i0's
    // getOrAdd then adds g3 to the store. Copied up with `add`, g3 could not replace s1, and
    // i0 served s1 although the store held g3 (found by a 100,000-history run).
    await expectClean(
      twoOrdered([
        set(0, 'a'),
        run(0),
        { kind: 'op', instance: 0, op: { kind: 'update', slot: 'b' } },
        { kind: 'op', instance: 0, op: { kind: 'getOrAdd', slot: 'a', ttl: 0 } },
        { kind: 'op', instance: 1, op: { kind: 'clear' } },
        run(1),
        run(0),
        run(1),
        run(0),
        run(0),
        { kind: 'op', instance: 1, op: { kind: 'expire', slot: 'a', ttl: 0 } },
        run(10),
        { kind: 'op', instance: 0, op: { kind: 'remove', slot: 'r/a' } },
        run(3),
        run(14),
        { kind: 'op', instance: 0, op: { kind: 'get', slot: 'a' } },
      ]),
    )
  })
  it('getOrAdd that lost its add does not replace a valid item whose tags it could not judge (a clear heard meanwhile)', async () => {
    // i1's getOrAdd loses its add to i1's own add(a, a4), written after i0's clear; while it
    // reads the tag stamps to judge a4, i0's [cleared] arrives and drops them. The check gave
    // no verdict, which was taken for "invalidated": a4 was replaced by the factory's g2, a
    // lost update (found by a CI run's random seed).
    await expectClean({
      instances: 2,
      unordered: false,
      steps: [
        set(0, 'a'),
        { kind: 'op', instance: 1, op: { kind: 'getOrAdd', slot: 'a', ttl: 0 } },
        run(7),
        run(2),
        run(0),
        { kind: 'op', instance: 0, op: { kind: 'setMany', slots: ['r/a'], ttl: 0 } },
        run(0),
        { kind: 'op', instance: 1, op: { kind: 'add', slot: 'a', ttl: 0 } },
        run(0),
        { kind: 'op', instance: 0, op: { kind: 'clear' } },
        run(0),
        run(1),
        run(0),
        run(1),
        run(3),
        run(4),
        run(0),
      ],
      drain: [11, 0, 4],
    })
  })

  it('expire does not re-time a copy written by a later set (the copy outlived the stored item)', async () => {
    // i1's expire(r/a) found nothing in the store; its set(r/a, ttl 50) landed meanwhile; the
    // expire then made i1's memory copy of s5 eternal, served past the store's expiry.
    await expectClean({
      instances: 2,
      unordered: true,
      steps: [
        { kind: 'op', instance: 0, op: { kind: 'add', slot: 'a', ttl: 0 } },
        { kind: 'op', instance: 0, op: { kind: 'expire', slot: 'a', ttl: 0 } },
        { kind: 'op', instance: 1, op: { kind: 'expire', slot: 'r/a', ttl: 0 } },
        run(11),
        { kind: 'op', instance: 0, op: { kind: 'get', slot: 'a' } },
        run(0),
        { kind: 'op', instance: 1, op: { kind: 'set', slot: 'r/a', ttl: 50 } },
        run(4),
        run(14),
        run(0),
        run(0),
        { kind: 'clock', ms: 250 },
        run(0),
      ],
      drain: [],
    })
  })

  it('an expire the store refused does not re-time the copy above', async () => {
    await expectClean(
      twoOrdered([
        { kind: 'op', instance: 1, op: { kind: 'set', slot: 'a', ttl: 50 } },
        run(0),
        run(0),
        { kind: 'op', instance: 1, op: { kind: 'expire', slot: 'a', ttl: 0 } },
        { kind: 'fault', pick: 0 },
        { kind: 'fault', pick: 0 },
        { kind: 'clock', ms: 100 },
      ]),
    )
  })

  it('a tag invalidation heard, then a stamp read after a clear not heard yet, does not revive the item', async () => {
    // i0 added a1 (no stamp yet: mark 0); i1 invalidated the tag (stamp 2) and i0 heard it,
    // then i1's clear reached the store between i0's read of a1 and i0's read of the stamp.
    // "No stamp" then equalled a1's mark: a1 was served although its tag was invalidated
    // (found by the model's grace property, with a plain get as well).
    await expectClean({
      instances: 4,
      unordered: true,
      steps: [
        { kind: 'op', instance: 0, op: { kind: 'add', slot: 'a', ttl: 0 } },
        run(0),
        run(0),
        run(0),
        run(0),
        { kind: 'op', instance: 1, op: { kind: 'removeByTag' } },
        run(0),
        run(11),
        { kind: 'op', instance: 1, op: { kind: 'clear' } },
        run(6),
        run(15),
        { kind: 'op', instance: 0, op: { kind: 'get', slot: 'a' } },
      ],
      drain: [0, 0, 14],
    })
  })

  it('expire does not revive an item past its expiry that is kept for its grace', async () => {
    // s1 reached the store already past its expiry (the clock moved while it was in flight),
    // kept for its grace. expire(a, none) re-timed it: getOrAdd then lost its add to s1 and
    // returned it, an expired value made fresh (found by the model's grace property).
    await expectClean(
      twoOrdered([
        { kind: 'op', instance: 0, op: { kind: 'set', slot: 'a', ttl: 50 } },
        run(0),
        run(0),
        { kind: 'clock', ms: 100 },
        { kind: 'op', instance: 0, op: { kind: 'getOrAdd', slot: 'a', ttl: 0 } },
        { kind: 'op', instance: 0, op: { kind: 'expire', slot: 'a', ttl: 0 } },
      ]),
      120,
    )
  })

  it('a sliding item read every 30 ms outlives its first expiry, on the instance that reads it', async () => {
    // Not a bug found: the checker's rule for sliding (an instance's own reads extend the
    // item) and the local copy's sliding agree; i0 reads s1 at +60 ms, past its first expiry.
    const read = { kind: 'op', instance: 0, op: { kind: 'get', slot: 'a' } } as const
    const step = { kind: 'clock', ms: 30 } as const
    const history: History = twoOrdered([
      { kind: 'op', instance: 0, op: { kind: 'set', slot: 'a', ttl: 50 } },
      ...[run(0), run(0), run(0), run(0), step, read, run(0), run(0), step, read, run(0), run(0)],
    ])
    await expectClean(history, 0, 'sliding')
    const record = await runHistory(history, memoryStore, {}, 'sliding')
    expect(record.ops[2]?.result).toBe('s1') // op #3, the read at +60 ms
  })

  it("a read after a peek of a sliding item, before the peek's touch reaches the store, is not past its expiry", async () => {
    // CacheManager.peek slides a sliding item as get's memory hit does: i1's peek at +40 ms
    // extended its copy of g1 to +90 ms, so its get at +60 ms may return it though the store's
    // copy expired at +50 ms (the touch was still on its way). The checker had counted only
    // get's slides (found by the model's sliding property: a checker bug, not a product one).
    await expectClean(
      twoOrdered([
        { kind: 'op', instance: 1, op: { kind: 'getOrAdd', slot: 'r/a', ttl: 50 } },
        ...[run(0), run(0), run(0), run(0), run(0), run(0)],
        { kind: 'clock', ms: 40 },
        { kind: 'op', instance: 1, op: { kind: 'peek', slot: 'r/a' } },
        { kind: 'clock', ms: 20 },
        { kind: 'op', instance: 1, op: { kind: 'get', slot: 'r/a' } },
        run(0),
      ]),
      0,
      'sliding',
    )
  })
  it('an expire to none and back to a TTL keeps the grace the item was written with', async () => {
    // a1 was added with grace; expire(none) then expire(ttl 50 ms), which reached the store at
    // +60 ms, past the new expiry. The store model kept a1 for its grace; the memory handle had
    // dropped the grace with the none expiry and a1 with it (Memcached dropped it on any
    // expire; Redis kept it). Found by the model's grace property; a conformance check now
    // holds every handle to it.
    const expire = (ttl: number) =>
      ({ kind: 'op', instance: 0, op: { kind: 'expire', slot: 'a', ttl } }) as const
    await expectClean(
      twoOrdered([
        { kind: 'op', instance: 0, op: { kind: 'add', slot: 'a', ttl: 50 } },
        run(0),
        run(0),
        expire(0),
        expire(50),
        run(0),
        run(0),
        { kind: 'clock', ms: 30 },
        { kind: 'clock', ms: 30 },
        run(0),
      ]),
      120,
    )
  })
})

// Found by the lost-write invariants (convergence, marks), which judge what every instance
// reads once the history is quiet, and which marks tagged writes record.
describe('lost writes found by the model', () => {
  it('a set whose reply is lost after it landed leaves no instance serving what it replaced', async () => {
    // i0's set of s3 reached the store, its reply was lost: set failed. i0 kept s1 in memory
    // (and announced nothing), while the store held s3.
    const fault = { kind: 'fault', pick: 0 } as const
    await expectClean({
      ...twoOrdered([
        set(0, 'a'),
        run(0),
        run(0),
        get(1, 'a'),
        run(0),
        run(0),
        set(0, 'a'),
        run(0),
        run(0),
        fault,
      ]),
      untagged: true,
    })
  })

  it('a removeByTag the store refused does not make instances take a missing stamp for a clear', async () => {
    // i0's stamp writes were refused and announced all the same (they might have landed). i1
    // took each announced stamp for one the store holds, read none, took that for a clear it
    // had missed, and its set recorded "unreadable": s3 was a miss everywhere.
    const removeByTag = (instance: number) => ({ kind: 'op', instance, op: { kind: 'removeByTag' } }) as const
    await expectClean(
      twoOrdered([
        removeByTag(0),
        { kind: 'fault', pick: 0 },
        run(3),
        removeByTag(0),
        set(1, 'b'),
        run(0),
        run(0),
        { kind: 'fault', pick: 0 },
        run(0),
      ]),
    )
  })

  it('a tagged write racing invalidations from three instances records a stamp the store held', async () => {
    // Each message of another instance's removeByTag made i0 drop the stamp its add had just
    // loaded (the reply may be older than the message); after three loads the add recorded
    // "unreadable": a3 was a miss everywhere although written after every invalidation.
    const removeByTag = (instance: number) => ({ kind: 'op', instance, op: { kind: 'removeByTag' } }) as const
    await expectClean({
      instances: 3,
      unordered: false,
      steps: [
        removeByTag(1),
        removeByTag(0),
        run(0),
        run(9),
        run(1),
        { kind: 'op', instance: 0, op: { kind: 'add', slot: 'r/a', ttl: 0 } },
        removeByTag(2),
        removeByTag(2),
      ],
      drain: [],
    })
  })

  it('a removeMany sent key by key is announced only once every key has landed or failed', async () => {
    // i1 (key by key) removed a and b; the remove of a was refused, so removeMany failed and
    // announced both at once, while the remove of b was still in flight. It landed after i0's
    // setMany wrote m3.b, which i0 kept in memory: the store held nothing.
    await expectClean({
      instances: 3,
      unordered: true,
      steps: [
        { kind: 'op', instance: 0, op: { kind: 'expire', slot: 'a', ttl: 0 } },
        run(0),
        { kind: 'op', instance: 0, op: { kind: 'add', slot: 'a', ttl: 0 } },
        { kind: 'op', instance: 0, op: { kind: 'setMany', slots: ['b', 'a'], ttl: 0 } },
        { kind: 'op', instance: 1, op: { kind: 'removeMany', slots: ['a', 'b'] } },
        run(0),
        run(3),
        { kind: 'fault', pick: 5 },
        { kind: 'op', instance: 0, op: { kind: 'update', slot: 'a' } },
        run(0),
        run(1),
        run(6),
        run(3),
      ],
      drain: [9],
    })
  })
})

describe("the checker's expiry rule", () => {
  it('an expire after a tag invalidation still applies to a read that has not heard of it', async () => {
    // Found by 60-step histories (sliding property): i0 wrote m2.a with a 50 ms TTL, its
    // removeByTag reached the store, then i1's expire made a persistent. i1's get, which started
    // before either resolved, read m2.a 120 ms on: allowed (the expire may come first, the
    // invalidation after), while the checker stopped at the stamp and judged the 50 ms TTL.
    const op = (instance: number, o: Operation) => ({ kind: 'op', instance, op: o }) as const
    await expectClean(
      {
        ...twoOrdered([
          op(1, { kind: 'setMany', slots: ['r/a'], ttl: 0 }),
          run(0),
          op(0, { kind: 'setMany', slots: ['a'], ttl: 50 }),
          ...[run(7), run(1), run(0)],
          op(1, { kind: 'expire', slot: 'a', ttl: 0 }),
          op(0, { kind: 'removeByTag' }),
          ...[run(0), run(4), run(0), run(3)],
          { kind: 'clock', ms: 120 },
          get(1, 'a'),
          run(0),
        ]),
        drain: [5, 1, 1],
      },
      0,
      'sliding',
    )
  })
})

describe("the checker's own rules", () => {
  it('a frame its writer sent before hearing a reply does not count as telling of that reply', async () => {
    // The checker's own rule, found by a run of 150-step histories (grace property): i0's
    // removeByTag reached the store (t30), then i0 published [expire a] for an expire it had
    // sent earlier, then heard the removeByTag's reply and announced it. i1 got [expire a]
    // and read m2.a with allowStale before the tag invalidation reached it: allowed, while the
    // checker took [expire a] for news of the invalidation (a staleness false positive).
    const op = (instance: number, o: Operation) => ({ kind: 'op', instance, op: o }) as const
    const fault = (pick: number) => ({ kind: 'fault', pick }) as const
    const removeByTag = op(0, { kind: 'removeByTag' })
    const [getStale, update] = [
      { kind: 'getStale', slot: 'a' },
      { kind: 'update', slot: 'a' },
    ] as const
    await expectClean(
      {
        instances: 3,
        unordered: true,
        steps: [
          op(2, { kind: 'removeByTag' }),
          ...[run(0), run(0), run(2)],
          op(1, { kind: 'setMany', slots: ['a'], ttl: 0 }),
          op(0, { kind: 'expire', slot: 'a', ttl: 0 }),
          ...[run(6), run(7), run(0)],
          op(0, { kind: 'remove', slot: 'a' }),
          op(0, { kind: 'getOrAdd', slot: 'b', ttl: 0 }),
          ...[op(0, getStale), op(0, getStale), run(0), run(0), op(0, update)],
          ...[run(4), run(0), run(0), removeByTag],
          ...[run(3), run(6), run(11), run(4), run(14), run(10), run(1), fault(0), run(5)],
          op(0, { kind: 'clear' }),
          ...[run(1), run(1), run(1), run(1)],
          op(0, { kind: 'expire', slot: 'r/a', ttl: 0 }),
          ...[op(0, { kind: 'get', slot: 'a' }), run(13), fault(1), op(1, getStale), run(1)],
          ...[removeByTag, op(0, update), run(9), run(0), run(10)],
          op(0, { kind: 'get', slot: 'r/a' }),
        ],
        drain: [],
      },
      120,
    )
  })
})

describe('writes that land after their failure, found by the model', () => {
  const timeout = (pick: number) => ({ kind: 'timeout', pick }) as const
  const op = (instance: number, operation: Operation) => ({ kind: 'op', instance, op: operation }) as const

  it('a removeMany that times out and lands later is announced again once it has landed', async () => {
    // i0's removeMany of r/a timed out and was announced; i1 then wrote m5.r/a and kept it in
    // memory. The remove landed after it: the store held nothing, i1 served m5.r/a for good.
    await expectClean({
      instances: 3,
      unordered: false,
      steps: [
        op(1, { kind: 'remove', slot: 'r/a' }),
        op(0, { kind: 'setMany', slots: ['a'], ttl: 0 }),
        run(7),
        op(2, { kind: 'add', slot: 'a', ttl: 0 }),
        run(0),
        op(0, { kind: 'setMany', slots: ['a'], ttl: 0 }),
        op(1, { kind: 'setMany', slots: ['r/a'], ttl: 0 }),
        run(0),
        op(0, { kind: 'removeMany', slots: ['r/a'] }),
        run(14),
        timeout(7),
        run(7),
        run(15),
        run(5),
        run(0),
      ],
      drain: [1, 9, 12],
    })
  })

  it('a clear that times out and lands later is announced again once it has landed', async () => {
    // i1's clear timed out and was announced. i0 then added b with the stamp its removeByTag
    // had written, and kept it in memory; the clear landed in between and took the stamp: the
    // store held nothing readable, i0 served a4.
    await expectClean({
      ...twoOrdered([
        op(1, { kind: 'clear' }),
        op(0, { kind: 'removeMany', slots: ['a'] }),
        op(0, { kind: 'removeByTag' }),
        timeout(0),
        run(1),
        run(5),
        run(4),
        run(1),
        run(1),
        op(0, { kind: 'add', slot: 'b', ttl: 0 }),
      ]),
      drain: [8],
    })
  })
})

describe('tag stamps after a gap, found by the model', () => {
  const op = (instance: number, operation: Operation) => ({ kind: 'op', instance, op: operation }) as const

  it('a gap does not make an instance forget which tags have a stamp', async () => {
    // i0's gap dropped its stamps and forgot that T had one. Its get read b (written before
    // i0's removeByTag), then T's stamp, after i1's clear had taken it: "no stamp" passed b,
    // invalidated by i0's own removeByTag, which had resolved before the get started.
    await expectClean(
      {
        ...twoOrdered([
          op(0, { kind: 'removeByTag' }),
          set(1, 'b'),
          run(1),
          run(3),
          run(1),
          run(0),
          run(0),
          run(0),
          set(0, 'a'),
          { kind: 'cut', instance: 0, replay: false },
          { kind: 'fault', pick: 2 },
          get(0, 'b'),
          op(1, { kind: 'clear' }),
          run(0),
          run(0),
          { kind: 'cut', instance: 0, replay: true },
          run(6),
          get(0, 'a'),
        ]),
        drain: [0, 4],
      },
      120,
    )
  })
})
