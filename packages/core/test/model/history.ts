/**
 * What a generated history is made of, and the fast-check arbitraries that make one.
 *
 * A history is a number of instances and a list of steps. A step either starts an
 * operation on an instance, or moves the world: runs one pending task of the scheduler
 * (a store call reaching the store, a store reply reaching its caller, a backplane frame
 * reaching an instance, a gap notification), runs one with a fault (the call is refused
 * before it reaches the store, or its reply is lost after the store applied it), cuts an
 * instance off the backplane (its pending frames are lost and a gap is reported later, as
 * a transport reports a reconnect; or, with replay, they are redelivered before a recovered
 * gap, as a replaying transport does), or steps the clock. Task picks are indices modulo the
 * number of pending tasks, so shrinking a pick towards 0 means "the oldest task first".
 */
import fc from 'fast-check'

/** The keys a history uses: few, so that operations collide. `r/a` is key `a` in region `r`. */
export const SLOTS = ['a', 'b', 'r/a'] as const
export type Slot = (typeof SLOTS)[number]

/** The tag every write carries (so `removeByTag` covers every slot). */
export const TAG = 'T'

/** The region that `clearRegion` clears. */
export const REGION = 'r'

/** Key and region of a slot. */
export function slotKey(slot: Slot): { key: string; region: string | undefined } {
  const at = slot.indexOf('/')
  return at < 0 ? { key: slot, region: undefined } : { key: slot.slice(at + 1), region: slot.slice(0, at) }
}

/** The slot of a key and region, or undefined for keys the model does not use. */
export function slotOf(key: string, region: string | undefined): Slot | undefined {
  const slot = region === undefined ? key : `${region}/${key}`
  return (SLOTS as readonly string[]).includes(slot) ? (slot as Slot) : undefined
}

/** Slots a region clear covers. */
export function slotsIn(region: string | undefined): Slot[] {
  return SLOTS.filter((slot) => slotKey(slot).region === region)
}

/** Lifetime of a write: 0 = no expiry, else an absolute TTL in ms. */
export type Ttl = number

/** One operation on a `CacheManager`. */
export type Operation =
  | { readonly kind: 'get' | 'peek' | 'remove' | 'update' | 'tryUpdate'; readonly slot: Slot }
  /** `get` with `allowStale`: an item past its expiry, within its grace, may be returned. */
  | { readonly kind: 'getStale'; readonly slot: Slot }
  | {
      /** `getOrAddFailing`: getOrAdd whose factory throws (fail-safe serves a stale value, or it fails). */
      readonly kind: 'set' | 'add' | 'addOrUpdate' | 'getOrAdd' | 'getOrAddFailing' | 'expire'
      readonly slot: Slot
      readonly ttl: Ttl
    }
  | { readonly kind: 'clear' | 'clearRegion' }
  | BulkOperation
  /** `removeByTag` of {@link TAG}, which every write carries. */
  | { readonly kind: 'removeByTag' }

/** A bulk operation: slots of one region, repeats allowed (a call may name a key twice). */
export type BulkOperation =
  | { readonly kind: 'getMany' | 'removeMany'; readonly slots: readonly Slot[] }
  | { readonly kind: 'setMany'; readonly slots: readonly Slot[]; readonly ttl: Ttl }

/** True for getMany / setMany / removeMany. */
export function isBulk(op: Operation): op is BulkOperation {
  return 'slots' in op
}

/** One step of a history. Instance numbers are taken modulo the history's instance count. */
export type Step =
  | { readonly kind: 'op'; readonly instance: number; readonly op: Operation }
  | { readonly kind: 'run'; readonly pick: number }
  | { readonly kind: 'fault'; readonly pick: number }
  /**
   * A pending store request times out (ordered connections only): its caller gets an error at
   * once, and the request still reaches the store later, in its connection's order, as a
   * command ioredis gave up on is sent anyway after a reconnect.
   */
  | { readonly kind: 'timeout'; readonly pick: number }
  | { readonly kind: 'cut'; readonly instance: number; readonly replay: boolean }
  | { readonly kind: 'clock'; readonly ms: number }

/** A generated history. */
export interface History {
  readonly instances: number
  /**
   * Store replies, store requests and one sender's frames may overtake each other (a
   * connection pool, a store answering out of order). False, what shrinking prefers, is one
   * ordered connection per instance, as the shipped adapters have.
   */
  readonly unordered: boolean
  /**
   * With ordered connections: each instance's backplane declares that it delivers a frame only
   * after the store applied the writes sent before it (`Backplane.ordersAfter`, as the Redis
   * handle and backplane on one client do), so `set` and `remove` announce as soon as their
   * store write is sent. Its frames then travel on the instance's store request connection
   * first, as a PUBLISH behind a SET does. Ignored with unordered connections. Absent: false.
   */
  readonly announceWithWrite?: boolean
  readonly steps: readonly Step[]
  /** Task picks for the drain after the last step (then oldest first), so it interleaves too. */
  readonly drain: readonly number[]
  /**
   * Writes carry no tag (default: every write carries {@link TAG}). For hand-written histories
   * that plant a bug tags would hide: an unrecovered gap drops the cached stamps whatever the
   * gap policy, so a tagged item is re-judged from the store after any gap.
   */
  readonly untagged?: boolean
}

/** What a property generates: which disturbances, how long. */
export interface GenerateOptions {
  /** Faults on store calls (refused calls, lost replies, requests that time out and land later). */
  readonly faults: boolean
  /** Backplane cuts (lost frames, then a gap). */
  readonly cuts: boolean
  /** Clock steps and TTLs (off against real stores, whose clocks the test cannot step). */
  readonly clock: boolean
  /** `clear` and `clearRegion` (default true). */
  readonly clears?: boolean
  /** `removeByTag` (default false). */
  readonly tags?: boolean
  /**
   * Every write with a TTL is kept this long past its expiry (the managers' `grace`, ms), and
   * `get` with `allowStale` and getOrAdd with a failing factory (fail-safe) join the
   * operations (default 0: no grace, no stale reads).
   */
  readonly grace?: number
  /** Writes with a TTL are sliding: every read extends them (default false: absolute). */
  readonly sliding?: boolean
  /** The clock steps, ms (default 30, 100 and 250; `sliding` makes them 4 times as frequent). */
  readonly clockSteps?: readonly number[]
  /** Longest history, in steps. */
  readonly maxSteps: number
}

// Most operations hit one key, so that they collide; the others keep region clears honest.
const slot = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Slot>('a') },
  { weight: 1, arbitrary: fc.constant<Slot>('b') },
  { weight: 1, arbitrary: fc.constant<Slot>('r/a') },
)

function operation(options: GenerateOptions): fc.Arbitrary<Operation> {
  const ttl = options.clock ? fc.constantFrom(0, 0, 50, 200) : fc.constant(0)
  const ops: Array<fc.WeightedArbitrary<Operation>> = [
    { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('get' as const, 'peek' as const), slot }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), slot, ttl }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constantFrom('add' as const, 'addOrUpdate' as const, 'getOrAdd' as const),
        slot,
        ttl,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constantFrom('update' as const, 'tryUpdate' as const), slot }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), slot }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), slot, ttl }) },
  ]
  // The keys of one bulk call share a region: some of a and b, or r/a (once or twice).
  const slots = fc.oneof(
    fc.array(fc.constantFrom<Slot>('a', 'b'), { minLength: 1, maxLength: 3 }),
    fc.array(fc.constant<Slot>('r/a'), { minLength: 1, maxLength: 2 }),
  )
  ops.push(
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('getMany' as const), slots }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('setMany' as const), slots, ttl }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeMany' as const), slots }) },
  )
  if (options.clears !== false) {
    ops.push({
      weight: 1,
      arbitrary: fc.record({ kind: fc.constantFrom('clear' as const, 'clearRegion' as const) }),
    })
  }
  if (options.tags === true)
    ops.push({ weight: 2, arbitrary: fc.record({ kind: fc.constant('removeByTag' as const) }) })
  // Sliding is about reads keeping an item alive: more of them.
  if (options.sliding === true)
    ops.push({ weight: 6, arbitrary: fc.record({ kind: fc.constant('get' as const), slot }) })
  if ((options.grace ?? 0) > 0) {
    ops.push(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('getStale' as const), slot }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('getOrAddFailing' as const), slot, ttl }) },
    )
  }
  return fc.oneof(...ops)
}

/** One step; running pending tasks is the most common, so interleavings are rich. */
function step(options: GenerateOptions): fc.Arbitrary<Step> {
  const instance = fc.nat({ max: 3 })
  const pick = fc.nat({ max: 15 })
  const steps: Array<fc.WeightedArbitrary<Step>> = [
    {
      weight: 10,
      arbitrary: fc.record({ kind: fc.constant('op' as const), instance, op: operation(options) }),
    },
    { weight: 14, arbitrary: fc.record({ kind: fc.constant('run' as const), pick }) },
  ]
  if (options.faults) {
    steps.push({ weight: 1, arbitrary: fc.record({ kind: fc.constant('fault' as const), pick }) })
    steps.push({ weight: 1, arbitrary: fc.record({ kind: fc.constant('timeout' as const), pick }) })
  }
  if (options.cuts) {
    const cut = fc.record({ kind: fc.constant('cut' as const), instance, replay: fc.boolean() })
    steps.push({ weight: 1, arbitrary: cut })
  }
  if (options.clock) {
    steps.push({
      // Sliding needs time to pass between reads: more, shorter steps.
      weight: options.sliding === true ? 4 : 1,
      arbitrary: fc.record({
        kind: fc.constant('clock' as const),
        ms: fc.constantFrom(...(options.clockSteps ?? [30, 100, 250])),
      }),
    })
  }
  return fc.oneof(...steps)
}

/** Histories of 2-4 instances and up to `maxSteps` steps (and drain picks). */
export function history(options: GenerateOptions): fc.Arbitrary<History> {
  return fc.record({
    instances: fc.integer({ min: 2, max: 4 }),
    unordered: fc.boolean(),
    announceWithWrite: fc.boolean(),
    steps: fc.array(step(options), { minLength: 1, maxLength: options.maxSteps, size: 'medium' }),
    drain: fc.array(fc.nat({ max: 15 }), { maxLength: options.maxSteps }),
  })
}
