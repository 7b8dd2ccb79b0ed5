/**
 * The sync algorithm.
 *
 * Handles are ordered top (fastest, in-process) to bottom; the bottom handle is the
 * source of truth. Several application instances share the distributed handles and a
 * backplane channel (`<prefix><cacheName>`); each keeps its own local handles.
 *
 * - Reads walk down. A hit at level i > 0 is copied into the levels above with `add`
 *   (never overwrite: a concurrent writer's newer value wins), keeping the item's
 *   remaining lifetime and the source's version.
 * - The fence: a lower read takes a ticket before going down; any invalidation of the
 *   key meanwhile (remote message, local write or remove, clear, region clear, gap)
 *   makes the ticket stale, and a stale read returns its value without copying it up.
 *   Without it a value read just before a remote update would be re-inserted into the
 *   memory layer after the invalidation for that update had been applied, and nothing
 *   would ever evict it.
 * - `set` writes the bottom first, then the levels above (with the bottom's version),
 *   then announces. The same fence covers it: a `set` takes a ticket before its bottom
 *   write, and if the key is invalidated while that write is in flight, the levels above
 *   are evicted instead of written. Without it, a writer that hears its store's reply late
 *   would install its value after a newer writer's invalidation had already been applied
 *   (to nothing), and serve the replaced value forever. Every path that writes a local
 *   level after awaiting a lower one follows this rule (copy-ups use `add` under a read
 *   ticket; `set` uses `set` under a write ticket).
 *   A backplane that delivers a frame only after the store applied a write sent before it
 *   (`Backplane.ordersAfter`: the Redis handle and backplane on one client) lets `set` and
 *   `remove` announce as soon as their bottom write is sent instead of after the reply: a
 *   receiver that drops its copy and reads the store finds the change, a round trip sooner.
 *   The fence and the events stay where they were (after the reply); a write that then fails
 *   was announced anyway, which costs its receivers a read, never a wrong value.
 * - A bottom write that fails may have landed all the same (its reply lost, a timeout after
 *   the store applied it). The writer then evicts the key from its levels above, bumps the
 *   fence and announces it before rejecting (`WriteFanout.unsettled`; `setMany` per key), so
 *   no instance keeps what the store may have replaced; not when the call cannot have left
 *   (its circuit was open, or the level answers in-process). A batch sent key by key is
 *   announced only once every call settled: one landing after the announcement would not be.
 *   It may land later still (sent again after a reconnect, executed late by a slow server):
 *   the key is probed on the bottom until a probe sent after the failure answers, by when a
 *   store that runs one connection's commands in order has applied or dropped it, then
 *   announced again (`late-writes.ts`); removes, expires, clears and `removeByTag` too.
 * - `add`/`update`/`addOrUpdate`/`expire` run on the bottom only (atomic there) and evict
 *   the key from the levels above: a copy re-timed or kept after the bottom changed could
 *   outlive or misstate the stored item. getOrAdd's add-or-read evicts the levels above
 *   before copying the bottom's item up with `add`, since a copy this instance wrote before
 *   a clear it has not heard of yet would otherwise survive the `add`.
 * - `remove`/`clear`/`clearRegion` run on every level. Every successful write bumps the
 *   fence for its key, then announces a key-only message: values never travel, so a
 *   receiver can only ever drop data, never install a wrong value.
 * - A remote message (our own frames are filtered by the bus) evicts the key, the
 *   region or everything from the LOCAL handles only; distributed handles were written
 *   by the sender and are never touched (they only hear `onRemoteClear`).
 * - A gap (messages may have been missed) clears every local handle by default, so
 *   nothing stale survives it; `maxLocalTtlMs` bounds staleness if a gap goes unnoticed.
 * - A handle that finds its cache or a region cleared when nobody announced it (a
 *   Memcached generation counter grown without a message: no backplane, a message lost
 *   unnoticed) reports it; the levels above it then drop that scope as for a remote clear.
 * - While the backplane is not live (disconnected, or silent past `maxSilenceMs`), local
 *   handles are bypassed: reads start at the first distributed handle and copy nothing up
 *   (`local-trust.ts` has the state machine; {@link SyncEngine.setLocalTrust} is its hook).
 * - Invariant: after the writer's `set` resolves and its message is delivered, no
 *   instance serves the old value from a local handle (it was evicted, and the fence
 *   keeps a racing read from putting it back).
 * - Grace (`grace.ts`): an item past its logical expiry but inside its grace is a miss for
 *   every read but the explicit stale paths (a {@link ReadProbe} collects it). A remote
 *   change of a local item with grace expires it logically instead of deleting it, so a
 *   cut-off instance can still fail-safe to it; it is then only reachable through those
 *   paths, so the invariant above holds for every other read. Removes, clears and gaps
 *   delete as before. A copy-up or getOrAdd write over a stale copy replaces it.
 * - Tags (`tags.ts`, `tag-stamps.ts`): `removeByTag(t)` never touches the tagged items. It
 *   writes a new random stamp for `t` into the bottom handle (an ordinary item in a region
 *   users cannot name), caches it, bumps the fence and announces it (`tagInvalidated`, the
 *   stamp in the message). A tagged item carries, inside its value, the stamp each of its
 *   tags had when it was written (its marks); every read path (`get`, `peek`, `getItem`,
 *   `has`, getOrAdd's hit and add-or-read, the stale probe, `update`'s read) serves it only
 *   if every mark equals the stamp cached now, and drops a local copy that fails. So the cost
 *   is one store write and one message per tag, whatever the number of items tagged.
 *   Clocks: stamps are compared for equality only, and both sides of the comparison come
 *   from the store (the invalidator's stamp, the writer's copy of it), never from a clock, so
 *   skew between machines cannot revive or hide an item. The price of equality is on the
 *   safe side: an item written with a stamp its writer had not yet heard was replaced is a
 *   miss everywhere (never a stale hit), until the message reaches the writer.
 *   A stamp is trusted only once read from the store or a message: an instance that has
 *   never seen a tag reads it from the bottom before serving a tagged item or writing one,
 *   so items written before the tag was first invalidated (stamp 0: no stamp item) are
 *   judged right. A load that was in flight when a newer stamp arrived is not installed.
 *   The fence: a cached stamp that changes bumps the global epoch, so a read that judged
 *   an item by the old stamp does not copy it up, and a `set` in flight evicts the levels
 *   above instead of writing them. A clear drops the cached stamps (the store's went with
 *   it); an unrecovered gap drops them whatever the gap policy (each is read again before
 *   use), so an invalidation hidden by the gap is honoured even with `keep`, though not
 *   which tags have one (see the next sentence). A clear not
 *   heard yet: a stamp the instance knows to exist, read again and missing from the store,
 *   is taken for that clear (handled as an external clear), since "no stamp" would judge an
 *   item fetched before the clear as never invalidated. A receiver
 *   whose bottom is shared forgets the stamp and re-reads it from the store (the store has
 *   the newest; two invalidators' messages, or one instance's own replies, may arrive in
 *   the other order, so an instance's invalidations run one at a time and its own stamp is
 *   installed only if nothing was heard for the tag meanwhile); a receiver whose bottom is
 *   local (memory-only) caches the message's stamp and writes it into that bottom. A failed
 *   `removeByTag` is announced too (its write may have landed), with the stamp negated:
 *   receivers re-read the store's stamp without taking this one for a stamp the store holds
 *   (else finding none would pass for a missed clear). A write records the cached stamps;
 *   one whose load was not cached (a message or drop meanwhile) reads the store's stamp once
 *   more and records it uncached: any stamp the store held is a safe mark, while recording
 *   "unreadable" made the item a miss everywhere.
 *   A writer about to replace or update a tagged item (`add`, `update`, getOrAdd after a
 *   lost add) judges it by the store's stamps (`judge`): an invalidated item is absent, and
 *   one left without a verdict (its stamps forgotten meanwhile) is read again, never taken
 *   for invalidated: replacing a valid item would lose its write.
 *   Invariant: after `removeByTag(t)` resolves and its message is delivered, no instance
 *   returns an item that carried `t` and was written before the invalidation, stale or not.
 * - Invariant (convergence): once nothing is in flight (every call answered, every frame
 *   delivered, every gap reported), every instance reads what the store holds for each key,
 *   unexpired and not tag-invalidated, even after writes whose own calls failed.
 *
 * Checked by model-based random testing (`test/model/`, issue 18): 2-4 instances over one
 * store, every store call, store reply, frame, gap and clock step interleaved by a generated
 * (seeded, shrunk) schedule (frames behind the store writes too, as with `ordersAfter`), each
 * history checked against a model of the store:
 * - CAS: a successful update replaced exactly the value it was computed from; an add
 *   succeeds only on an absent key (one writer per absent key);
 * - a key's versions never repeat (a repeated one lets a stale CAS match a new item);
 * - staleness: once a write resolved and its instance's next frame for the key (or an
 *   unrecovered gap) reached an instance, that instance returns nothing the store held only
 *   before the write: no older value, no removed or cleared one;
 * - convergence: once the history is quiet, every instance reads what the store holds for
 *   each key (it misses only what the store may not serve: nothing, expired, tag-invalidated),
 *   and every tag mark a write recorded is a stamp the store held (lost writes: a miss
 *   everywhere breaks no staleness rule);
 * - nothing is returned past its expiry; every operation settles; no unhandled rejection.
 * The `memory-tags` property adds removeByTag: every write carries one tag, so a new stamp in
 * the store counts as a removal of every key, and its frame as invalidating every key.
 *
 * - getOrAdd's cluster lock (`distributedLock`, `cluster-flight.ts`): calls waiting for another
 *   instance's factory are woken where a change of their key is applied here (a remote
 *   message, a local write, a remote clear) and then only read, so they add nothing to the
 *   invariant; with nobody waiting the hook is one size test.
 *
 * This file holds the read path and the receive side. The write fan-out is in
 * `write-fanout.ts`, the bottom-only loops (add, CAS update, getOrAdd's add-or-read)
 * in `write-loops.ts`, the fence in `invalidation-fence.ts`. The bulk calls (`getMany`,
 * `setMany`, `removeMany`: `bulk-reads.ts`, `bulk-writes.ts`) apply the same rules per key
 * (a ticket per key; copy-ups through {@link SyncEngine.copyUp}) with one handle call per
 * level for all the keys, and announce every key in one turn, so the bus sends one frame.
 */
import type { BackplaneGap, BackplaneState } from './contracts/backplane.js'
import type { EvictReason, ItemInput, StoredItem } from './contracts/cache-handle.js'
import type { Serializer } from './contracts/serializer.js'
import { type Encoded, ItemCodec, MISS } from './item-codec.js'
import type { BackplaneMessage, ChangeKind } from './backplane/messages.js'
import type { CacheEmitter } from './events.js'
import { fitItem } from './expiration.js'
import type { FenceTicket, InvalidationFence } from './invalidation-fence.js'
import {
  attempt,
  circuitRefusal,
  type Layer,
  layerFailed,
  layerSucceeded,
  readQuietly,
  reportError,
  wrapHandleError,
} from './layer.js'
import { isStale, type ReadProbe } from './grace.js'
import { hitClock } from './hit-clock.js'
import { keyId } from './single-flight.js'
import { LateWrites } from './late-writes.js'
import { LockWaiters } from './lock-waiters.js'
import { SlidingToucher } from './sliding-touch.js'
import { TAGS_CURRENT, TAGS_INVALIDATED, TAGS_UNKNOWN, TagStamps } from './tag-stamps.js'
import { TaggedValue } from './tags.js'

/** {@link SyncEngine.judge}: the stamps were forgotten while a writer judged an item; read it again. */
export const UNJUDGED: unique symbol = Symbol('cacheplane.unjudged')

/** What a gap policy decides: clear the local handles or keep them. */
export type GapAction = 'clear' | 'keep'

/** How to react to a backplane gap: a fixed action or a function of the gap. */
export type GapPolicy = GapAction | ((gap: BackplaneGap) => GapAction)

/** An item found by a read, with its value decoded. */
export interface Found {
  readonly value: unknown
  readonly stored: StoredItem<unknown>
  readonly level: number
}

/** Where remote announcements go (the backplane bus, or nothing). */
export interface Announcer {
  announce(message: BackplaneMessage): void
}

/** What the engine needs from its manager. */
export interface SyncEngineOptions {
  readonly layers: readonly Layer[]
  readonly emitter: CacheEmitter
  readonly serializer: Serializer
  readonly fence: InvalidationFence
  readonly gapPolicy: GapPolicy
  /** Touch distributed sliding items at most once per this fraction of their TTL. */
  readonly slidingTouchRatio: number
}

/** Reads, writes and remote messages across the levels of one manager. */
export class SyncEngine {
  readonly layers: readonly Layer[]
  readonly top: Layer
  readonly bottom: Layer
  readonly fence: InvalidationFence
  /** getOrAdd calls waiting for another instance's factory (`distributedLock`), woken by the changes applied here. */
  readonly lockWaiters = new LockWaiters()
  /** Where announcements go; set by the manager once the bus exists. */
  announcer: Announcer | undefined
  /**
   * The backplane delivers a frame only after a bottom write sent before it was applied
   * (`Backplane.ordersAfter`): `set` and `remove` announce as soon as their bottom write is
   * sent. Set with {@link announcer}.
   */
  announcesWithBottomWrite = false
  /**
   * Someone listens to `get` events; kept by the manager's `on`/`off`. The read paths test
   * this field instead of `emitter.has('get')`: that shared method's keyed lookup was
   * about a tenth of a `peek` (measured 0.54x -> 0.63x of the bare memory handle's get).
   */
  getListened = false
  readonly #emitter: CacheEmitter
  readonly #gapPolicy: GapPolicy
  readonly #touch: SlidingToucher
  readonly #fastTop: boolean
  /** Every level answers synchronously: no write can interleave with another (no write fence). */
  readonly allSync: boolean
  /** {@link peekTop} may read the top: it is fast, and trusted or distributed. */
  #peekable: boolean
  /** Local handles are used (the backplane is live, or they are kept during outages). */
  #trusted = true
  /** First level a read may use: 0, or the first distributed level while local handles are bypassed. */
  #readFrom = 0

  constructor(options: SyncEngineOptions) {
    this.layers = options.layers
    this.top = options.layers[0]!
    this.bottom = options.layers[options.layers.length - 1]!
    this.fence = options.fence
    this.#emitter = options.emitter
    this.#gapPolicy = options.gapPolicy
    this.#touch = new SlidingToucher(
      options.layers,
      options.slidingTouchRatio,
      options.emitter,
      (key, region) => {
        for (const layer of this.layers) if (layer.local) this.#evictLocal(layer, key, region, 'touch')
      },
    )
    this.#fastTop = this.top.sync && this.top.breaker === undefined
    this.allSync = options.layers.every((layer) => layer.sync)
    this.#peekable = this.#fastTop
    this.codec = new ItemCodec(options.serializer, options.layers, options.emitter)
    this.lateWrites = new LateWrites(this.bottom, options.emitter)
    this.stamps = new TagStamps(this.bottom, options.emitter, options.fence, {
      lateWrites: this.lateWrites,
      // A stamp missing from the store means a clear we have not heard of yet: act on it now.
      onStampLost: () => this.applyExternalClear(this.bottom, undefined),
    })
  }

  /** The top is synchronous without a circuit breaker: {@link peekTop} reads it. */
  get fastTop(): boolean {
    return this.#fastTop
  }

  /** Local handles are in use; false while they are bypassed (see `local-trust.ts`). */
  get localTrusted(): boolean {
    return this.#trusted
  }

  /**
   * Uses or bypasses the local handles. Every transition invalidates all fence tickets: a read
   * that started on one side of it must not copy up on the other.
   */
  setLocalTrust(trusted: boolean): void {
    this.#trusted = trusted
    this.#peekable = this.#fastTop && (trusted || !this.top.local)
    const shared = this.layers.findIndex((layer) => !layer.local)
    this.#readFrom = trusted ? 0 : shared === -1 ? this.layers.length : shared
    this.fence.invalidateAll()
  }

  /** First level a read may use: 0, or the first distributed level while local handles are bypassed. */
  get readFrom(): number {
    return this.#readFrom
  }

  /** Level a read starts at after {@link peekTop} missed (1 when the top was peeked, else 0). */
  get afterPeek(): number {
    return this.#fastTop ? 1 : 0
  }

  /** Serializes writes once and decodes bytes levels. */
  readonly codec: ItemCodec

  /** The cached tag stamps, kept by the bottom handle (`tag-stamps.ts`). */
  readonly stamps: TagStamps

  /** Keys and tags whose failed bottom write may still land, probed until it cannot (`late-writes.ts`). */
  readonly lateWrites: LateWrites

  /**
   * The hot path: a synchronous read of a synchronous top level. No allocation on a
   * hit beyond what the listeners asked for; no expiry math unless the item slides.
   */
  peekTop(key: string, region: string | undefined): unknown {
    const item = this.peekTopItem(key, region)
    return item === MISS ? MISS : this.#servedFromTop(key, region, item)
  }

  /**
   * {@link peekTop} in two steps, for a caller that needs the item too (eager refresh reads
   * its lifetime): the top's item, or MISS when the top may not be peeked or failed (a
   * failure is reported and counted); then {@link servedFromTop} serves it.
   */
  peekTopItem(key: string, region: string | undefined): StoredItem<unknown> | undefined | typeof MISS {
    if (!this.#peekable) return MISS
    const top = this.top
    try {
      return top.handle.get(key, region) as StoredItem<unknown> | undefined
    } catch (raw) {
      reportError(this.#emitter, top, 'get', wrapHandleError(top, 'get', raw))
      top.stats.misses++
      return MISS
    }
  }

  /** The value a peek of the top serves from `item` (a hit, counted and emitted), or MISS. */
  servedFromTop(key: string, region: string | undefined, item: StoredItem<unknown> | undefined): unknown {
    return this.#servedFromTop(key, region, item)
  }

  /**
   * `CacheManager.peek`: {@link peekTop} for any synchronous top, including one with a
   * circuit breaker (a synchronous distributed handle), which takes the breaker's policy
   * inline. The caller checked that the top is synchronous.
   */
  peek(key: string, region: string | undefined): unknown {
    if (this.#fastTop) return this.peekTop(key, region)
    // A slow top is never local (only distributed handles have a circuit breaker): no bypass check.
    const top = this.top
    let item: StoredItem<unknown> | undefined
    if (circuitRefusal(this.#emitter, top, 'get') === undefined) {
      try {
        item = top.handle.get(key, region) as StoredItem<unknown> | undefined
        layerSucceeded(top)
      } catch (raw) {
        layerFailed(this.#emitter, top, 'get', raw)
      }
    }
    return this.#servedFromTop(key, region, item)
  }

  /** What the top answered to a peek: its value (a hit, counted and emitted) or MISS. */
  #servedFromTop(key: string, region: string | undefined, item: StoredItem<unknown> | undefined): unknown {
    const top = this.top
    if (item === undefined) {
      top.stats.misses++
      return MISS
    }
    // Logically expired, kept for its grace: a miss here (the stale paths read it through a probe).
    // The clock is the reading hits share (`hit-clock.ts`): Date.now() would cost as much as the hit.
    const grace = item.grace
    if (grace !== undefined && grace !== 0 && item.expiresAt !== 0 && item.expiresAt <= hitClock()) {
      top.stats.misses++
      return MISS
    }
    let value = top.bytes ? this.codec.decode(top, item) : item.value
    if (value === MISS) return MISS
    // A tagged item: one instanceof and one stamp lookup per tag, nothing allocated on a hit.
    if (value instanceof TaggedValue) {
      value = this.#admitNow(top, key, region, value)
      if (value === MISS) {
        top.stats.misses++
        return MISS
      }
    }
    top.stats.hits++
    if (item.mode === 'sliding' && this.#touch.layers.length !== 0)
      this.#touch.touchBelow(key, region, item.ttl)
    if (this.getListened) this.#emitter.emit('get', { key, region, level: 0, handle: top.name })
    return value
  }

  /** Walks down from level `start` (1 after a {@link peekTop} miss, else 0), copying a lower hit up. */
  read(
    key: string,
    region: string | undefined,
    start: number,
    probe?: ReadProbe,
  ): Promise<Found | undefined> {
    return this.#walk(key, region, start, true, probe) as Promise<Found | undefined>
  }

  /** Like {@link read}, resolving to the value alone (`get`: no {@link Found} object, no extra frame). */
  readValue(key: string, region: string | undefined, start: number): Promise<unknown> {
    return this.#walk(key, region, start, false)
  }

  /**
   * The read walk. Profiled on memory(16 entries) over an async bytes handle at concurrency
   * 64, the cost beside the lower handle's own get and the deserializer was promises: a
   * read went through `attempt` -> `guard` (two async frames and a closure per level) and
   * an awaited async `copyUp` (two more per level above). So the error policy is applied
   * inline here (same counting, reporting and circuit accounting as `guard`), the only
   * await is the lower handle's own promise, and `copyUp` into synchronous levels does
   * not return a promise at all. Counted with async_hooks, a get that misses memory went
   * from 16 promises to 4 (as many as calling the handle and deserializing directly), and
   * its young-generation garbage to about a third.
   */
  async #walk(
    key: string,
    region: string | undefined,
    start: number,
    item: boolean,
    probe?: ReadProbe,
  ): Promise<unknown> {
    const layers = this.layers
    const emitter = this.#emitter
    const ticket = this.fence.enter(keyId(key, region))
    const stampEpoch = this.stamps.epoch
    try {
      for (let i = Math.max(start, this.#readFrom); i < layers.length; i++) {
        const layer = layers[i]!
        let stored: StoredItem<unknown> | undefined
        if (circuitRefusal(emitter, layer, 'get') === undefined) {
          try {
            const result = layer.handle.get(key, region)
            stored = layer.sync ? (result as StoredItem<unknown> | undefined) : await result
            layerSucceeded(layer)
          } catch (raw) {
            layerFailed(emitter, layer, 'get', raw) // reported; the read falls back to the next level
            if (probe !== undefined) probe.failed = true
          }
        } else if (probe !== undefined) probe.failed = true
        if (stored !== undefined && stored.grace !== undefined && isStale(stored, Date.now())) {
          this.passStale(layer, stored, probe)
          continue
        }
        const payload =
          stored === undefined ? MISS : layer.bytes ? this.codec.decode(layer, stored) : stored.value
        const value =
          payload instanceof TaggedValue ? await this.admit(layer, key, region, payload, stampEpoch) : payload
        if (stored === undefined || value === MISS) {
          layer.stats.misses++
          continue
        }
        layer.stats.hits++
        if (i > 0) {
          const copying = this.copyUp(i, key, region, stored, payload, ticket)
          if (copying !== undefined) await copying
        }
        if (this.getListened) emitter.emit('get', { key, region, level: i, handle: layer.name })
        return item ? { value, stored, level: i } : value
      }
    } finally {
      this.fence.leave(ticket)
    }
    if (this.getListened) emitter.emit('get', { key, region, level: -1, handle: undefined })
    return undefined
  }

  /**
   * A logically expired item met by a read: a miss, kept (decoded) by the probe when there is
   * one. A lower level's stale item replaces an upper one's of another version: the store's
   * is the last write, while a local copy may be older (one expired by a remote write, kept
   * for fail-safe).
   */
  passStale(layer: Layer, stored: StoredItem<unknown>, probe: ReadProbe | undefined): void {
    layer.stats.misses++
    if (probe === undefined || probe.stale?.stored.version === stored.version) return
    let value = layer.bytes ? this.codec.decode(layer, stored) : stored.value
    // A tag-invalidated item is removed, not expired: never served stale (nor when unverifiable).
    if (value instanceof TaggedValue) value = this.stamps.check(value) === TAGS_CURRENT ? value.value : MISS
    if (value !== MISS) probe.stale = { value, stored, level: layer.index }
  }

  /**
   * The value of a tagged payload read from `layer`, once its tags are known current (unknown
   * stamps are read from the bottom first); {@link MISS} when a tag was invalidated since it
   * was written (a local copy is then dropped), when its stamp cannot be read, or when the
   * stamps were forgotten (a clear, a gap) since `epoch`: a read does not serve what it
   * cannot judge.
   */
  async admit(
    layer: Layer,
    key: string,
    region: string | undefined,
    tagged: TaggedValue,
    epoch = this.stamps.epoch,
  ): Promise<unknown> {
    // Bypassing local handles (backplane down): no message can refresh the cached stamps.
    let verdict: number
    try {
      verdict = await this.#verdict(tagged, !this.#trusted && !layer.local, epoch)
    } catch {
      return MISS // reported; an item whose invalidation cannot be checked is not served
    }
    if (verdict === TAGS_CURRENT) return tagged.value
    if (verdict === TAGS_INVALIDATED && layer.local) this.#evictLocal(layer, key, region, 'tag-invalidate')
    return MISS
  }

  /**
   * A writer's verdict on a tagged item it read from the bottom and is about to replace or
   * update: its value when its tags are current, {@link MISS} when one was invalidated since
   * it was written, {@link UNJUDGED} when the stamps were forgotten meanwhile (a clear, a
   * gap: read the item again). The stamps are read from the store even when cached: a cached
   * one may lag (a message in flight, an invalidator whose reply was lost), and judging by it
   * would overwrite a valid item. Rejects when the stamps cannot be read (reported).
   */
  async judge(tagged: TaggedValue): Promise<unknown> {
    const verdict = await this.#verdict(tagged, true, this.stamps.epoch)
    if (verdict === TAGS_CURRENT) return tagged.value
    return verdict === TAGS_INVALIDATED ? MISS : UNJUDGED
  }

  /**
   * Judges `tagged` by the stamps, loading the unknown ones (every one with `reload`, from
   * the store) and trying again, a little, when a gap forgets them meanwhile. TAGS_UNKNOWN
   * when the stamps were forgotten since `epoch`. Rejects when a load fails.
   */
  async #verdict(tagged: TaggedValue, reload: boolean, epoch: number): Promise<number> {
    let verdict = this.stamps.check(tagged)
    for (let tries = 0; (verdict === TAGS_UNKNOWN || (reload && tries === 0)) && tries < 3; tries++) {
      await (reload ? this.stamps.reload(tagged.tags) : this.stamps.load(tagged.tags))
      verdict = this.stamps.check(tagged)
    }
    return epoch === this.stamps.epoch ? verdict : TAGS_UNKNOWN
  }

  /**
   * {@link admit} on the synchronous hot path: an unknown stamp is a miss now (the walk below,
   * or the next read, finds the item once the stamp is loaded; the load starts here).
   */
  #admitNow(layer: Layer, key: string, region: string | undefined, tagged: TaggedValue): unknown {
    const verdict = this.stamps.check(tagged)
    if (verdict === TAGS_CURRENT) return tagged.value
    if (verdict === TAGS_INVALIDATED) {
      if (layer.local) this.#evictLocal(layer, key, region, 'tag-invalidate')
    } else void this.stamps.load(tagged.tags).catch(() => undefined)
    return MISS
  }

  /**
   * True when any level in use has the key, as `get` would find it (local levels are
   * skipped while bypassed): read with `peek` when the handle has it (a sliding item is not
   * extended), no copy-up; an item whose bytes do not decode is absent (reported as `get`
   * reports it), and so is a stale one (kept for its grace).
   */
  async has(key: string, region: string | undefined): Promise<boolean> {
    const stampEpoch = this.stamps.epoch
    for (let i = this.#readFrom; i < this.layers.length; i++) {
      const layer = this.layers[i]!
      const stored = await attempt(this.#emitter, layer, 'has', (h) => readQuietly(h, key, region), undefined)
      // A stale item (kept for its grace) is absent to everything but the stale paths.
      if (stored === undefined || isStale(stored, Date.now())) continue
      const payload = layer.bytes ? this.codec.decode(layer, stored) : stored.value
      if (payload === MISS) continue
      if (
        !(payload instanceof TaggedValue) ||
        (await this.admit(layer, key, region, payload, stampEpoch)) !== MISS
      )
        return true
    }
    return false
  }

  /**
   * Copies an item read at level `from` into the levels above it, unless the fence says it
   * went stale. Synchronous levels are written without a promise (undefined is returned
   * when every level above is synchronous, the usual memory-over-store setup); from the
   * first asynchronous level on, the rest is a promise.
   */
  copyUp(
    from: number,
    key: string,
    region: string | undefined,
    stored: ItemInput<unknown>,
    value: unknown,
    ticket: FenceTicket,
  ): Promise<void> | undefined {
    // Bypassing: local copies would not hear the invalidations that keep them fresh.
    if (!this.#trusted) return undefined
    const now = Date.now()
    const source = this.layers[from]!
    if (stored.mode === 'sliding' && !source.local) this.#touch.noteTouched(keyId(key, region), now)
    for (let j = from - 1; j >= 0; j--) {
      const layer = this.layers[j]!
      if (!layer.sync) return this.#copyUpAsync(j, source, key, region, stored, value, ticket, now)
      const input = this.#copyFor(layer, source, stored, value, now)
      if (input === MISS) continue
      if (input === undefined || !this.fence.isCurrent(ticket)) return undefined
      if (circuitRefusal(this.#emitter, layer, 'copy-up') !== undefined) continue
      try {
        let added = layer.handle.add(key, region, input) as boolean
        // A stale copy (logically expired, kept for its grace) does not block a fresh one.
        if (!added) added = this.#replaceStaleSync(layer, key, region, input)
        layerSucceeded(layer)
        if (added) layer.stats.adds++
      } catch (raw) {
        layerFailed(this.#emitter, layer, 'copy-up', raw)
      }
    }
    return undefined
  }

  /** {@link copyUp} from level `j` up, when level `j` is asynchronous. */
  async #copyUpAsync(
    j: number,
    source: Layer,
    key: string,
    region: string | undefined,
    stored: ItemInput<unknown>,
    value: unknown,
    ticket: FenceTicket,
    now: number,
  ): Promise<void> {
    for (; j >= 0; j--) {
      const layer = this.layers[j]!
      const input = this.#copyFor(layer, source, stored, value, now)
      if (input === MISS) continue
      if (input === undefined || !this.fence.isCurrent(ticket)) return
      const added = await attempt(this.#emitter, layer, 'copy-up', (h) => h.add(key, region, input), false)
      if (!added && !(await this.#replaceStaleAsync(layer, key, region, input))) continue
      layer.stats.adds++
      // An asynchronous level's add may land after an invalidation that arrived while it was in
      // flight: take the copy back out (at worst this drops a newer value: a miss, never stale).
      if (!layer.sync && !this.fence.isCurrent(ticket)) {
        await attempt(this.#emitter, layer, 'copy-up', (h) => h.remove(key, region), false)
        return
      }
    }
  }

  /**
   * The item a copy-up writes at `layer`: {@link MISS} when the value cannot be serialized
   * for it (reported), undefined when its lifetime is over. Copies keep the source's
   * version; an item whose version is unknown gets the level's own. Always a fresh plain
   * object, even bytes to bytes: the source's item may be a handle's live entry (the
   * memory handle returns its own, with getters that a spread would drop), which the
   * level above must not keep a reference to.
   */
  #copyFor(
    layer: Layer,
    source: Layer,
    stored: ItemInput<unknown>,
    value: unknown,
    now: number,
  ): ItemInput<unknown> | undefined | typeof MISS {
    let payload: unknown = value
    if (layer.bytes) payload = source.bytes ? stored.value : this.codec.serializeCopy(layer, value)
    if (payload === MISS) return MISS
    const { mode, ttl, expiresAt, created, version, grace } = stored
    let copy: ItemInput<unknown> =
      version === undefined
        ? { value: payload, mode, ttl, expiresAt, created }
        : { value: payload, mode, ttl, expiresAt, created, version }
    if (grace !== undefined && grace !== 0) copy = { ...copy, grace }
    return fitItem(copy, layer.limits, now)
  }

  /** Replaces a stale item of a synchronous level with `input` (its `add` refused); true when written. */
  #replaceStaleSync(
    layer: Layer,
    key: string,
    region: string | undefined,
    input: ItemInput<unknown>,
  ): boolean {
    const current = layer.handle.get(key, region) as StoredItem<unknown> | undefined
    if (current === undefined || !isStale(current, Date.now())) return false
    layer.handle.remove(key, region)
    return layer.handle.add(key, region, input) as boolean
  }

  /** {@link #replaceStaleSync} for an asynchronous level (a newer write in between wins: add never overwrites). */
  async #replaceStaleAsync(
    layer: Layer,
    key: string,
    region: string | undefined,
    input: ItemInput<unknown>,
  ): Promise<boolean> {
    const current = await attempt(this.#emitter, layer, 'copy-up', (h) => h.get(key, region), undefined)
    if (current === undefined || !isStale(current, Date.now())) return false
    await attempt(this.#emitter, layer, 'copy-up', (h) => h.remove(key, region), false)
    return attempt(this.#emitter, layer, 'copy-up', (h) => h.add(key, region, input), false)
  }

  /** Forgets the sliding last-touch times (after a clear). */
  forgetTouches(): void {
    this.#touch.forget()
  }

  /** Decodes a stored item of a bytes level; a corrupt item is reported and reads as {@link MISS}. */
  decode(layer: Layer, stored: StoredItem<unknown>): unknown {
    return this.codec.decode(layer, stored)
  }

  /** The item to write at `layer` for a write made now, or undefined when its lifetime is already over. */
  itemFor(layer: Layer, encoded: Encoded, base: ItemInput<undefined>, now: number, version?: number) {
    const value = layer.bytes ? encoded.bytes : encoded.held
    return fitItem(
      version === undefined ? { ...base, value } : { ...base, value, version },
      layer.limits,
      now,
    )
  }

  /** `removeByTag`: new stamps in the bottom, cached here, announced (see `tag-stamps.ts`). */
  invalidateTags(tags: readonly string[]): Promise<void> {
    return this.stamps.invalidate(tags, (tag, stamp, again) => {
      this.announcer?.announce({ type: 'tagInvalidated', tag, stamp })
      if (again !== true && this.#emitter.has('removeByTag'))
        this.#emitter.emit('removeByTag', { tag, origin: 'local' })
    })
  }

  /**
   * A successful local change of one key: bump the fence, announce (unless `announced`
   * already: see {@link announcesWithBottomWrite}), emit.
   */
  changed(key: string, region: string | undefined, change: ChangeKind, announced = false): void {
    const id = keyId(key, region)
    this.fence.invalidate(id)
    if (this.lockWaiters.size !== 0) this.lockWaiters.wake(id, 'local-write')
    if (!announced) this.announce(key, region, change)
    if (this.#emitter.has(change)) this.#emitter.emit(change, { key, region, origin: 'local' })
  }

  /** Tells the other instances that the key changed (nothing without a backplane). */
  announce(key: string, region: string | undefined, change: ChangeKind): void {
    this.announcer?.announce({ type: 'changed', change, key, region })
  }

  /** Messages from other instances: evict from local handles only, bump the fence, emit `remote` events. */
  applyRemote(messages: readonly BackplaneMessage[]): void {
    for (const message of messages) {
      if (message.type === 'tagInvalidated') {
        this.stamps.applyRemote(message.tag, message.stamp)
        const tag = message.tag
        if (this.#emitter.has('removeByTag')) this.#emitter.emit('removeByTag', { tag, origin: 'remote' })
      } else if (message.type === 'changed' || message.type === 'removed') {
        const { key, region } = message
        const id = keyId(key, region)
        this.fence.invalidate(id)
        if (this.lockWaiters.size !== 0) this.lockWaiters.wake(id, 'message')
        const keepStale = message.type === 'changed'
        for (const layer of this.layers) {
          if (!layer.local) continue
          if (keepStale && this.#expireLocal(layer, key, region)) continue
          this.#evictLocal(layer, key, region, 'remote-invalidate')
        }
        const event = message.type === 'changed' ? message.change : 'remove'
        if (this.#emitter.has(event)) this.#emitter.emit(event, { key, region, origin: 'remote' })
      } else {
        const region = message.type === 'regionCleared' ? message.region : undefined
        this.#clearLocal(region, true)
        if (this.lockWaiters.size !== 0) this.lockWaiters.wakeAll('clear')
        this.#emitRemoteClear(region)
      }
    }
  }

  #emitRemoteClear(region: string | undefined): void {
    if (region === undefined) {
      if (this.#emitter.has('clear')) this.#emitter.emit('clear', { origin: 'remote' })
    } else if (this.#emitter.has('clearRegion')) {
      this.#emitter.emit('clearRegion', { region, origin: 'remote' })
    }
  }

  /** A backplane gap: apply the gap policy (recovered gaps keep local handles) and emit a `backplane` event. */
  applyGap(gap: BackplaneGap): void {
    let action: GapAction = 'keep'
    if (!gap.recovered) {
      try {
        action = typeof this.#gapPolicy === 'function' ? this.#gapPolicy(gap) : this.#gapPolicy
      } catch {
        action = 'clear' // a broken policy must not leave stale data behind
      }
    }
    // A missed frame may have been a clear: distributed handles that cache store state
    // (Memcached's generations) refresh it, as they would on a clear heard in time.
    if (action === 'clear') this.#clearLocal(undefined, true, this.layers.length, true)
    // A missed frame may have been a tag invalidation: stamps are read again before use.
    else if (!gap.recovered) this.stamps.drop(false)
    if (this.#emitter.has('backplane')) {
      this.#emitter.emit('backplane', { type: 'gap', gap, action: action === 'clear' ? 'cleared' : 'kept' })
    }
  }

  /** The backplane changed state. */
  applyState(state: BackplaneState): void {
    if (this.#emitter.has('backplane')) this.#emitter.emit('backplane', { type: 'state', state })
  }

  /**
   * A handle found its cache (`region` undefined) or a region cleared without anyone telling
   * it: the levels above it drop that scope exactly as on a remote clear (fence included, so
   * a read in flight does not copy an old item up), and a remote `clear`/`clearRegion` event
   * is emitted, since another instance made that clear.
   */
  applyExternalClear(layer: Layer, region: string | undefined): void {
    this.#clearLocal(region, true, layer.index)
    this.#emitRemoteClear(region)
  }

  /** A handle dropped an item by itself; a distributed one drags the local copies above it along. */
  applyEvict(layer: Layer, key: string, region: string | undefined, reason: EvictReason): void {
    layer.stats.evictions++
    if (!layer.local) {
      this.fence.invalidate(keyId(key, region))
      for (let j = layer.index - 1; j >= 0; j--) {
        const above = this.layers[j]!
        if (above.local) this.#evictLocal(above, key, region, 'evict-above')
      }
    }
    if (this.#emitter.has('evict')) {
      this.#emitter.emit('evict', { key, region, reason, handle: layer.name, level: layer.index })
    }
  }

  /**
   * A remote set/update of an item with grace, on a synchronous local level with the grace
   * capability: expire the local copy logically (now) instead of deleting it, so a cut-off
   * instance can still fail-safe to it. True when done; false means evict as usual. An
   * already stale copy is left as it is (expiring it now would stretch its grace).
   */
  #expireLocal(layer: Layer, key: string, region: string | undefined): boolean {
    if (!layer.sync || !layer.limits.grace) return false
    try {
      const item = layer.handle.get(key, region) as StoredItem<unknown> | undefined
      if (item === undefined || item.mode !== 'absolute' || item.grace === undefined || item.grace === 0)
        return false
      const now = Date.now()
      if (item.expiresAt <= now) return true
      return layer.handle.expire(key, region, 'absolute', item.ttl, now) as boolean
    } catch (raw) {
      layerFailed(this.#emitter, layer, 'remote-invalidate', raw)
      return false
    }
  }

  #evictLocal(layer: Layer, key: string, region: string | undefined, operation: string): void {
    void attempt(this.#emitter, layer, operation, (h) => h.remove(key, region), false).then((removed) => {
      if (removed) layer.stats.removes++
    })
  }

  /** Clears `region` (undefined: everything) from the local levels above level `below` (default: all levels). */
  #clearLocal(region: string | undefined, remote: boolean, below = this.layers.length, gap = false): void {
    this.fence.invalidateAll()
    this.#touch.forget()
    // A cache clear removed the stamps from the store too (or a gap may have hidden new ones).
    if (region === undefined) this.stamps.drop(!gap)
    for (let i = 0; i < below; i++) {
      const layer = this.layers[i]!
      if (layer.local) {
        const operation = region === undefined ? 'clear' : 'clearRegion'
        void attempt(
          this.#emitter,
          layer,
          `remote-${operation}`,
          (h) => (region === undefined ? h.clear() : h.clearRegion(region)),
          undefined,
        )
        layer.stats.clears++
      } else if (remote && layer.handle.onRemoteClear !== undefined) {
        void attempt(this.#emitter, layer, 'onRemoteClear', (h) => h.onRemoteClear!(region), undefined)
      }
    }
  }

  /** Sliding item served from above: extend the distributed copies, at most once per ratio of the TTL. */
}
