/**
 * Model-based random testing of the sync algorithm (issue 18).
 *
 * Each history runs 2-4 `CacheManager`s ("instances"), each with its own memory layer, over
 * one shared store (a distributed-mode memory handle here; real Redis and Memcached in
 * integration/test/model-real-stores.test.ts) and the in-process backplane hub. Nothing in a
 * history happens by itself: every store call reaching the store, every store reply reaching
 * its caller, every frame reaching an instance and every gap notification is a task that a
 * generated step runs (`scheduler.ts`). Steps start operations, run a pending task (possibly
 * with a fault: a refused call, a lost reply), time out a pending store request (its caller
 * gets an error now, the request still reaches the store later, in its connection's order:
 * ordered connections only), cut an instance off the backplane (frames to it lost and a gap
 * reported later, or held and replayed before a recovered gap) and step the clock. Connections are ordered (one instance's requests, its replies, one sender's frames to
 * one receiver keep their order, as over one TCP connection) or, per history, unordered.
 * With ordered connections, a history may also put each instance's frames behind its store
 * requests (`announceWithWrite`: the backplane declares `ordersAfter`, as the Redis handle and
 * backplane on one client do), so a `set` or `remove` is announced as soon as its store write
 * is sent.
 * fast-check generates the histories from a seed and shrinks a failing one to a minimal
 * history; the report prints the seed, the path, the shrunk history and its timeline, and
 * `pnpm test:model -- --property <id> --seed <s> --path <p>` replays it.
 *
 * Operations: get, peek, set, add, update, tryUpdate, addOrUpdate, getOrAdd, remove, expire
 * (absolute or none), clear, clearRegion, getMany / setMany / removeMany over keys of one
 * region (a key may repeat), and (property `memory-tags`) removeByTag: every write carries
 * one tag, so a new stamp in the store counts as a removal of every slot, and a
 * `tagInvalidated` frame as invalidating every slot. Even instances reach the store through
 * its bulk members (one store call for all the keys), odd ones key by key (core's fallback:
 * a task per key), so both paths run in every history. Property `memory-grace` writes every
 * item with a TTL with a grace (the managers' `grace`) and adds `get` with `allowStale` and
 * getOrAdd with a factory that throws (fail-safe). Such reads, and any getOrAdd of a graced
 * item, may return a stale item until its grace ends, or one a remote write replaced (kept
 * as a stale local copy for fail-safe), never a removed, cleared or tag-invalidated one; an
 * add or getOrAdd may replace a stale item. Property `memory-sliding` makes every write with
 * a TTL sliding: the store's reads and touches extend an item (recorded as expires), and so
 * do an instance's own reads of its local copy. (getOrAdd's timeouts and the cluster lock
 * are not in the model: their waits are on timers the scheduler does not drive.) Every
 * value written is unique and names its write (`s7`: operation
 * 7's set; `u9<s7`: operation 9's update computed from `s7`).
 *
 * The reference model is the shared store's history (`store-model.ts`): what each key holds
 * after every change the store applied, in the store's order. Against it, every history must
 * satisfy:
 * - cas: every successful update replaced exactly the value it was computed from (no lost
 *   update); an update or add reported successful was stored;
 * - add: an add succeeds only on an absent key (at most one writer per absent key);
 * - versions: a version the store gives a key was never given to another value of that key;
 * - staleness: once a write (set, add, update, remove, clear, clearRegion) has resolved and
 *   its instance's next frame for the key has been delivered to an instance (or the instance
 *   made it itself), that instance never returns a value the store held only before it: not
 *   an older value, nor a removed or cleared one;
 * - gaps: an unrecovered gap reported to an instance counts as hearing of every change the
 *   store applied before it (nothing older than the gap is served from a local layer); a
 *   recovered one (the hub redelivers the frames it held, then reports it) counts for
 *   nothing beyond those frames, and local layers are kept;
 * - expiry: no read returns a value past every expiry its instance may know for it;
 * - phantom: a read returns only values some write stored (getOrAdd: or its own factory's);
 * - store-read: the store returns what the model says it holds;
 * - convergence: once every pending task has run, every instance reads every key twice (the
 *   first round settles what a read straddling a stamp drop may miss by design); the second
 *   returns exactly what the store holds, unexpired and not tag-invalidated: a write that
 *   every instance misses, or a copy the store replaced kept by one instance (a write whose
 *   reply was lost), breaks no staleness rule but is lost all the same;
 * - marks: every tag mark a write recorded is a stamp the store held before the write;
 * - hang: every operation settles once every pending task has run; unhandled-rejection: none.
 * The precise rules (when an instance "knows" of a change) are in `checker.ts`.
 *
 * CI runs a fixed number of histories per property: 700 for each here, 300 for each store of
 * the real-store file, 4,700 in all; `pnpm test:model -- --runs N --seed S` runs long ones
 * (see `env.ts`).
 */
import { describe } from 'vitest'
import { memoryStore, modelProperty } from './index.js'

const faultsAndGaps = { faults: true, cuts: true, clock: true, maxSteps: 40 } as const

/** Each property over the shared memory store: 700 histories in CI, 30 ms each at most. */
const property = (id: string, title: string, generate: Parameters<typeof modelProperty>[0]['generate']) =>
  modelProperty({ id, title, setup: () => memoryStore, generate, ciRuns: 700, msPerHistory: 30 })

describe('model-based random testing over a shared memory store', () => {
  property('memory', 'concurrent operations with delayed store calls, replies and frames, and clock steps', {
    ...faultsAndGaps,
    faults: false,
    cuts: false,
  })
  property(
    'memory-faults',
    'the same with refused store calls, lost replies, lost frames and gaps',
    faultsAndGaps,
  )
  property('memory-tags', 'with removeByTag of the tag every write carries, faults, lost frames and gaps', {
    ...faultsAndGaps,
    tags: true,
  })
  property(
    'memory-grace',
    'with grace on every write and stale reads, removeByTag, faults, lost frames and gaps',
    {
      ...faultsAndGaps,
      tags: true,
      grace: 120,
    },
  )
  // Steps shorter than the TTLs (50, 200 ms): reads in between keep items alive past their
  // first expiry, which is what sliding is about.
  property(
    'memory-sliding',
    'with sliding expiration on every write with a TTL, removeByTag, faults, lost frames and gaps',
    { ...faultsAndGaps, tags: true, sliding: true, clockSteps: [20, 40, 120] },
  )
})
