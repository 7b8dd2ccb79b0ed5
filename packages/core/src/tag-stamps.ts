/**
 * Tag stamps: what makes `removeByTag` O(1) in the number of tagged items.
 *
 * A tag's stamp is an opaque random number, stored as an ordinary item (key = the tag) in
 * the reserved region {@link TAG_REGION} of the bottom handle, so it lives wherever the
 * items live and needs nothing from the handle contract beyond get/set. A tag never
 * invalidated has no item: its stamp is 0. `removeByTag(t)` writes a new random stamp for
 * `t` and announces it; nothing touches the tagged items themselves.
 *
 * A write records, for each of its tags, the stamp this instance holds for it (its mark);
 * a read serves a tagged item only if every mark equals the stamp held now. Stamps are
 * compared for equality only, never ordered: no clock of any machine is involved, so
 * clock skew between instances cannot revive or hide an item (see the sync algorithm's
 * description in `sync-engine.ts` for the whole argument).
 *
 * Every instance caches the stamps it has used (this class, at most {@link MAX_CACHED_STAMPS}:
 * the oldest are forgotten past it). A stamp not cached yet is read
 * from the bottom before a tagged item is trusted, or before a tagged write records it, so
 * items written before an instance first met a tag are judged against the right stamp.
 * Updates arrive by a backplane message of their own kind; every change of a cached stamp
 * bumps the fence, so a read in flight does not copy up an item judged by the old stamp.
 *
 * A cached stamp is replaced only by something that happened after it was read: each tag
 * has a generation, bumped whenever its stamp changes, and a load started at an older
 * generation is dropped instead of installed (a message heard while the load was in flight
 * carries a newer stamp than the store's reply may hold).
 *
 * A stamp that vanishes from a shared store was taken by a clear (or the store evicted it):
 * read after a clear this instance has not heard of yet, "no stamp" would judge an item
 * fetched before the clear, tag-invalidated, as never invalidated (found by the model-based
 * tests). So an instance remembers which tags it knows to have a stamp since its last
 * clear or gap; a load that finds one of them without a stamp reports the clear
 * (`onStampLost`: the manager acts as on a clear heard) instead of installing "never".
 */
import { randomInt } from 'node:crypto'
import type { CacheHandle, ItemInput, StoredItem } from './contracts/cache-handle.js'
import type { CacheEmitter } from './events.js'
import type { InvalidationFence } from './invalidation-fence.js'
import type { Encoded, ItemCodec } from './item-codec.js'
import { type LateWrites, mayHaveLanded } from './late-writes.js'
import { attempt, guard, type Layer, readQuietly, reportError, wrapHandleError } from './layer.js'
import { keyId } from './single-flight.js'
import { TAG_REGION, type TaggedValue } from './tags.js'

/** {@link TagStamps.check}: every mark is current. */
export const TAGS_CURRENT = 0
/** {@link TagStamps.check}: a tag was invalidated since the item was written. */
export const TAGS_INVALIDATED = 1
/** {@link TagStamps.check}: a tag's stamp is not cached (load it, then check again). */
export const TAGS_UNKNOWN = 2

/** Stamp of a tag that was never invalidated (no stamp item in the store). */
const NEVER = 0
/** Stamp of a stamp item that does not decode: equals no mark, so its tagged items are misses. */
const UNREADABLE = -1

/**
 * Most stamps one manager keeps cached. Past it the oldest installed are forgotten: a
 * forgotten stamp is read again from the bottom before a tagged item is trusted or written,
 * exactly like one never met, so the bound costs reads, never correctness. It keeps a
 * deployment with a tag per user or per order from growing the cache without end.
 */
export const MAX_CACHED_STAMPS = 100_000

/**
 * Source of {@link TagStamps} versions, shared by every instance so that no two tables ever
 * have the same version (a value judged by one is never taken as judged by another).
 */
let lastVersion = 0

/** Source of tag generations: never repeated, so a generation dropped and drawn again never matches an old one. */
let lastGeneration = 0

/** What a {@link TagStamps} may be given besides its bottom, emitter and fence. */
export interface TagStampsOptions {
  /** Tags whose stamp is cached, at most (default 100,000); as many are remembered to have one. */
  readonly limit?: number
  /** A stamp known to exist is missing from the store (default: {@link TagStamps.drop}). */
  readonly onStampLost?: () => void
  /** Probes a tag whose stamp write failed until that write can no longer land (`late-writes.ts`). */
  readonly lateWrites?: LateWrites
}

/** Announces a stamp `removeByTag` wrote (`again`: a failed write's, once more). */
export type StampWritten = (tag: string, stamp: number, again?: boolean) => void

/** The stamps of one manager's tags, cached from its bottom handle. */
export class TagStamps {
  /** Changes whenever a cached stamp changes or is forgotten; {@link TaggedValue.verifiedAt} compares with it. */
  #version = ++lastVersion
  readonly #stamps = new Map<string, number>()
  readonly #generations = new Map<string, number>()
  readonly #loading = new Map<string, Promise<void>>()
  /** The invalidations of this instance, one after the other. */
  #invalidating: Promise<void> = Promise.resolve()
  /** Bumped when the whole cache is dropped, so loads started before it are not installed. */
  #epoch = 0
  readonly #bottom: Layer
  readonly #emitter: CacheEmitter
  readonly #fence: InvalidationFence
  /** The bottom answers synchronously and has no breaker: an unknown stamp is read inline. */
  readonly #inline: boolean
  readonly #limit: number
  /**
   * Tags known to have a stamp in the shared store since the last clear ({@link drop}; installed
   * from it, written by us, or announced by another instance), at most `limit`, oldest
   * forgotten first; a gap keeps them. Finding one without a stamp means the store was cleared.
   */
  readonly #stamped = new Set<string>()
  /** Called when a stamp known to exist is missing from the store (see the file's header). */
  readonly #onStampLost: () => void
  readonly #lateWrites: LateWrites | undefined

  constructor(
    bottom: Layer,
    emitter: CacheEmitter,
    fence: InvalidationFence,
    options: TagStampsOptions = {},
  ) {
    this.#bottom = bottom
    this.#emitter = emitter
    this.#fence = fence
    this.#inline = bottom.sync && bottom.breaker === undefined
    this.#limit = options.limit ?? MAX_CACHED_STAMPS
    this.#onStampLost = options.onStampLost ?? (() => this.drop())
    this.#lateWrites = options.lateWrites
  }

  /**
   * Whether a tagged item may be served: {@link TAGS_CURRENT}, {@link TAGS_INVALIDATED} or
   * {@link TAGS_UNKNOWN}. Allocates nothing (the hit path calls it).
   */
  check(tagged: TaggedValue): number {
    // Judged current since the last stamp change: one comparison (measured: a Map lookup per
    // tag made a tagged peek about 25% slower than an untagged one).
    if (tagged.verifiedAt === this.#version) return TAGS_CURRENT
    const { tags, marks } = tagged
    let unknown = false
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i]!
      let stamp = this.#stamps.get(tag)
      if (stamp === undefined && this.#inline) stamp = this.#loadInline(tag)
      if (stamp === undefined) unknown = true
      else if (stamp !== marks[i]) return TAGS_INVALIDATED
    }
    if (unknown) return TAGS_UNKNOWN
    tagged.verifiedAt = this.#version
    return TAGS_CURRENT
  }

  /** Reads the stamps of `tags` not cached yet from the bottom; rejects when the bottom fails. */
  async load(tags: readonly string[]): Promise<void> {
    const pending: Promise<void>[] = []
    for (const tag of tags) {
      if (this.#stamps.has(tag)) continue
      let loading = this.#loading.get(tag)
      if (loading === undefined) {
        loading = this.#load(tag).finally(() => this.#loading.delete(tag))
        this.#loading.set(tag, loading)
      }
      pending.push(loading)
    }
    if (pending.length !== 0) await Promise.all(pending)
  }

  /**
   * Reads the stamps of `tags` from the bottom even when cached: while local handles are
   * bypassed (the backplane is down) no message can update the cache, so a read judges the
   * store's items by the store's stamps. Rejects when the bottom fails.
   */
  async reload(tags: readonly string[]): Promise<void> {
    await Promise.all(tags.map((tag) => this.#load(tag)))
  }

  /**
   * The stamps a write of `tags` records: the cached ones, loaded first when not cached. A
   * load is not cached when something changed the tag meanwhile (a message, a gap, a clear:
   * its reply may be older than what was heard); the write then reads the store's stamp once
   * more and records it without caching it. Any stamp the store held before the write lands
   * is a safe mark (an older one only makes the item a miss), and one read after everything
   * the write heard keeps it visible unless an invalidation overtakes it. Recording
   * {@link UNREADABLE} instead, or after a few loads lost to messages of concurrent
   * invalidations, made the item a miss on every instance until rewritten (found by the
   * integration test restarting NATS under a removeByTag, then by the model-based tests).
   * Rejects when the bottom fails.
   */
  async marks(tags: readonly string[]): Promise<number[]> {
    await this.load(tags)
    const cached = tags.map((tag) => this.#stamps.get(tag))
    if (!cached.includes(undefined)) return cached as number[]
    return Promise.all(tags.map((tag, i) => cached[i] ?? this.#read(tag)))
  }

  /** The stamp of `tag` the bottom holds now, not cached (see {@link marks}). */
  async #read(tag: string): Promise<number> {
    return stampOf(await guard(this.#emitter, this.#bottom, 'tag-stamp', (h) => h.get(tag, TAG_REGION)))
  }

  /**
   * `removeByTag`: a new stamp per tag, written to the bottom, then cached and handed to
   * `written` (which announces it; `again` when a failed write is announced once more, after
   * it can no longer land). Rejects when a write fails; the tags written before the
   * failure stay invalidated (and announced).
   */
  invalidate(tags: readonly string[], written: StampWritten): Promise<void> {
    // One at a time per instance: two of ours in flight could install their stamps in the
    // opposite order of the store's (replies overtaking each other), leaving the older one.
    const run = this.#invalidating.then(() => this.#invalidate(tags, written))
    this.#invalidating = run.catch(() => undefined)
    return run
  }

  async #invalidate(tags: readonly string[], written: StampWritten): Promise<void> {
    for (const tag of tags) {
      const stamp = newStamp()
      const epoch = this.#epoch
      const generation = this.#generationOf(tag)
      try {
        await guard(this.#emitter, this.#bottom, 'removeByTag', (h) =>
          h.set(tag, TAG_REGION, stampItem(h, stamp)),
        )
      } catch (error) {
        // The write may have landed (a lost reply), or not: everyone, us included, asks the
        // store, and nobody takes the stamp for one the store holds (see unsettledStamp). It
        // may land later still: then everyone asks again.
        const settle = (again: boolean) => {
          this.#refetch(tag)
          this.#fence.invalidateTagged()
          written(tag, unsettledStamp(stamp), again)
        }
        settle(false)
        if (mayHaveLanded(this.#bottom, error)) {
          this.#lateWrites?.watch(keyId(tag, TAG_REGION), {
            probe: (handle) => readQuietly(handle, tag, TAG_REGION),
            settle: () => settle(true),
          })
        }
        throw error
      }
      // Another instance's stamp heard meanwhile may be newer in the store than ours: ask it.
      if (epoch === this.#epoch && generation === this.#generations.get(tag)) this.#install(tag, stamp)
      else {
        this.#noteStamped(tag) // ours is in the store, or a newer one
        this.#refetch(tag)
      }
      this.#fence.invalidateTagged()
      written(tag, stamp)
    }
  }

  /**
   * Another instance invalidated `tag` with `stamp`. With a shared bottom the cached stamp is
   * forgotten and read again from the store, which holds this stamp or a newer one (messages
   * of two invalidators may arrive in the other order than the store took their writes: the
   * message's stamp could be the older). A local bottom (memory-only instances) is only ever
   * written by us: the message's stamp is cached and written to it, so a later load finds it.
   */
  applyRemote(tag: string, stamp: number): void {
    this.#fence.invalidateTagged()
    if (this.#bottom.local) {
      const local = Math.abs(stamp) // our own bottom: any new stamp invalidates the tag here
      this.#install(tag, local)
      void attempt(
        this.#emitter,
        this.#bottom,
        'removeByTag',
        (h) => h.set(tag, TAG_REGION, stampItem(h, local)),
        0,
      )
    } else {
      // An unsettled stamp may never have reached the store: finding none there is no clear.
      if (stamp > 0) this.#noteStamped(tag)
      this.#refetch(tag)
    }
  }

  /**
   * Forgets `tag`'s stamp and reads it again from the shared bottom: the store's stamp is the
   * newest, while messages (and our own replies) may arrive in another order than the store
   * applied the writes. Until the read answers, the tag's items are not served from here.
   */
  #refetch(tag: string): void {
    this.#stamps.delete(tag)
    this.#generations.set(tag, ++lastGeneration)
    this.#version = ++lastVersion
    void this.load([tag]).catch(() => undefined) // reported by guard; loaded again on next use
  }

  /**
   * Forgets every cached stamp (a clear, or a gap that may have hidden invalidations): each is
   * read again from the bottom before it is trusted. Only a clear (`cleared`, the default)
   * forgets which tags have a stamp in the store: after a gap they still have, unless a clear
   * hidden by the gap took them, and finding one missing then is taken for that clear. Forgotten
   * there, a stamp read after a clear heard late would pass an item read before the clear, and
   * invalidated by the stamp it took (found by the model-based tests).
   */
  drop(cleared = true): void {
    this.#epoch++
    this.#version = ++lastVersion
    this.#stamps.clear()
    this.#generations.clear()
    if (cleared) this.#stamped.clear()
    this.#fence.invalidateAll()
  }

  /**
   * Changes whenever every cached stamp is forgotten (a clear or a gap). A clear takes the
   * stamps out of the store, so a stamp read after it (0) must not judge an item fetched
   * before it: the item may predate an invalidation the clear erased.
   */
  get epoch(): number {
    return this.#epoch
  }

  /** Tags whose stamp is cached (tests check what a gap or clear leaves). */
  get size(): number {
    return this.#stamps.size
  }

  #install(tag: string, stamp: number): void {
    if (stamp !== NEVER) this.#noteStamped(tag)
    const previous = this.#stamps.get(tag)
    this.#generations.set(tag, ++lastGeneration)
    this.#stamps.set(tag, stamp)
    if (previous !== undefined && previous !== stamp) this.#version = ++lastVersion
    // A read in flight may have judged an item by the previous stamp: it must not copy it up.
    if (previous !== undefined && previous !== stamp) this.#fence.invalidateTagged()
    if (this.#stamps.size > this.#limit) this.#forgetOldest(tag)
  }

  /**
   * Forgets the oldest installed stamps down to the limit (never `keep`, just installed), and
   * the generations no stamp or load needs any more. A load in flight for a forgotten tag
   * finds its generation gone and installs nothing: the tag is read again when next needed.
   * The version changes: an item judged current must be judged again, because the next stamp
   * installed for a forgotten tag (our own `removeByTag`, a memory-only peer's message) has no
   * previous stamp to differ from.
   */
  #forgetOldest(keep: string): void {
    for (const tag of this.#stamps.keys()) {
      if (this.#stamps.size <= this.#limit) break
      if (tag === keep) continue
      this.#stamps.delete(tag)
      this.#generations.delete(tag)
    }
    this.#version = ++lastVersion
    if (this.#generations.size <= 2 * this.#limit) return
    for (const tag of this.#generations.keys())
      if (!this.#stamps.has(tag) && !this.#loading.has(tag)) this.#generations.delete(tag)
  }

  /**
   * The tag's generation, given one first if it has none: a comparison with a generation
   * captured as "none" could match again after {@link #forgetOldest} dropped a newer one,
   * while values drawn from one counter never repeat.
   */
  #generationOf(tag: string): number {
    let generation = this.#generations.get(tag)
    if (generation === undefined) {
      generation = ++lastGeneration
      this.#generations.set(tag, generation)
    }
    return generation
  }

  /** Remembers that `tag` has a stamp in the store (see {@link #stamped}). */
  #noteStamped(tag: string): void {
    if (this.#bottom.local) return // only we write a local bottom: nobody clears it behind our back
    this.#stamped.delete(tag) // re-inserted: the Set's order is the order of last use
    this.#stamped.add(tag)
    if (this.#stamped.size > this.#limit) this.#stamped.delete(this.#stamped.values().next().value!)
  }

  async #load(tag: string): Promise<void> {
    const epoch = this.#epoch
    const generation = this.#generationOf(tag)
    const stored = await guard(this.#emitter, this.#bottom, 'tag-stamp', (h) => h.get(tag, TAG_REGION))
    if (epoch !== this.#epoch || generation !== this.#generations.get(tag)) return
    this.#installLoaded(tag, stampOf(stored))
  }

  /** A stamp read synchronously from a synchronous bottom; undefined when the read fails (reported). */
  #loadInline(tag: string): number | undefined {
    try {
      const stamp = stampOf(this.#bottom.handle.get(tag, TAG_REGION) as StoredItem<unknown> | undefined)
      return this.#installLoaded(tag, stamp) ? stamp : undefined
    } catch (raw) {
      reportError(this.#emitter, this.#bottom, 'tag-stamp', wrapHandleError(this.#bottom, 'tag-stamp', raw))
      return undefined
    }
  }

  /**
   * Installs a stamp read from the store, unless the store lost one it had: then the store
   * was cleared (see the file's header), which is reported instead. True when installed.
   */
  #installLoaded(tag: string, stamp: number): boolean {
    if (stamp === NEVER && this.#stamped.has(tag)) {
      this.#onStampLost()
      return false
    }
    this.#install(tag, stamp)
    return true
  }
}

/** A tagged write's value: the tags' current stamps (loaded first when not cached) travel with it. */
export async function encodeTagged(
  stamps: TagStamps,
  codec: ItemCodec,
  value: unknown,
  tags: readonly string[],
): Promise<Encoded> {
  return codec.encodeTagged(value, tags, await stamps.marks(tags))
}

/** A new stamp: random, so two invalidators never write the same one (odds 2^-48), and never 0. */
function newStamp(): number {
  return randomInt(1, 2 ** 48 - 1)
}

/**
 * The stamp a failed `removeByTag` announces: negated (stamps are positive). Its write may
 * have landed or not, so a receiver with a shared bottom reads the store's stamp without
 * taking this one for a stamp the store holds, which would make it read a missing stamp as
 * a clear it missed: a false external clear, then writes recording no stamp, misses on every
 * instance (found by the model-based tests). A receiver that predates it treats it as a
 * plain stamp, as before.
 */
function unsettledStamp(stamp: number): number {
  return -stamp
}

/** The stored item of a stamp: 8 bytes (f64) for a bytes handle, else the number. */
function stampItem(handle: CacheHandle<unknown>, stamp: number): ItemInput<unknown> {
  let value: unknown = stamp
  if (handle.capabilities.bytes) {
    const bytes = new Uint8Array(8)
    new DataView(bytes.buffer).setFloat64(0, stamp, true)
    value = bytes
  }
  return { value, mode: 'none', ttl: 0, expiresAt: 0, created: Date.now() }
}

/** The stamp a stored stamp item holds ({@link NEVER} when absent). */
function stampOf(stored: StoredItem<unknown> | undefined): number {
  if (stored === undefined) return NEVER
  const value = stored.value
  if (typeof value === 'number') return value
  if (value instanceof Uint8Array && value.length === 8) {
    return new DataView(value.buffer, value.byteOffset, 8).getFloat64(0, true)
  }
  return UNREADABLE
}
