/**
 * `CacheManager`: the public API. It validates arguments, serializes once per write,
 * and hands the work to the sync engine (`sync-engine.ts`, which explains the
 * protocol) and the bottom-only write loops (`write-loops.ts`).
 */
import type { BackplaneBus } from './backplane/backplane-bus.js'
import { checkEntries, checkKeys, distinctKeys, type SetManyEntry } from './bulk-input.js'
import { BulkReads } from './bulk-reads.js'
import { BulkWrites } from './bulk-writes.js'
import {
  type CacheItem,
  callExpiration,
  callRetries,
  type Factory,
  type GetOptions,
  type GetOrAddOptions,
  type ReadOptions,
  type UpdateOptions,
  type WriteOptions,
} from './call-options.js'
import type { Expiration } from './contracts/cache-handle.js'
import { ClosedError, InvalidKeyError, InvalidOptionsError, NotSupportedError } from './errors.js'
import { asBackplaneError, bindHandles, createBus } from './manager-lifecycle.js'
import { type CacheEventName, CacheEmitter, type CacheListener } from './events.js'
import { InvalidationFence } from './invalidation-fence.js'
import { LocalTrust } from './local-trust.js'
import { claimUses } from './ownership.js'
import { attempt, Layer, reportError } from './layer.js'
import { FailSafeLoader, type LoadRequest, refreshDue } from './fail-safe-loader.js'
import { newProbe } from './grace.js'
import { callGrace, callPolicy } from './resilience-options.js'
import {
  type CacheManagerOptions,
  type ResolvedManagerOptions,
  resolveManagerOptions,
} from './manager-options.js'
import { keyId, SingleFlight } from './single-flight.js'
import { type CacheStats, type HandleStats, newFactoryStats } from './stats.js'
import { MISS } from './item-codec.js'
import { SyncEngine } from './sync-engine.js'
import { publishTopHit, topHitListened, traceChannels, traced, tracedSync } from './tracing.js'
import { WriteFanout } from './write-fanout.js'
import {
  checkExpiration,
  checkKey,
  checkRegion,
  checkValue,
  isValidKey,
  isValidRegion,
} from './validation.js'
import { checkTagArgument, checkTags, untag } from './tags.js'
import { encodeTagged } from './tag-stamps.js'
import type { Encoded } from './item-codec.js'
import { type UpdateResult, unwrapUpdate, WriteLoops } from './write-loops.js'

export type {
  CacheItem,
  Factory,
  FactoryContext,
  FactoryFailure,
  GetOptions,
  GetOrAddOptions,
  ReadOptions,
  UpdateOptions,
  WriteOptions,
} from './call-options.js'
export type { ResilienceOptions } from './resilience-options.js'
export type { SetManyEntry } from './bulk-input.js'
export type { CacheManagerOptions } from './manager-options.js'
export type { GapAction, GapPolicy } from './sync-engine.js'
export type { BackplaneDownMode } from './local-trust.js'
export type { UpdateFailure, UpdateResult } from './write-loops.js'
export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js'

/** A multi-layer cache whose in-process layers are kept in sync across instances by a backplane. */
export class CacheManager<V = unknown> {
  /** Name of the cache (scopes keys and the backplane channel). */
  readonly name: string
  readonly #options: ResolvedManagerOptions
  readonly #emitter = new CacheEmitter()
  readonly #engine: SyncEngine
  readonly #fanout: WriteFanout
  readonly #loops: WriteLoops
  readonly #loader: FailSafeLoader
  readonly #bulkReads: BulkReads
  readonly #bulkWrites: BulkWrites
  /** The manager's default policy refreshes eagerly (read once per getOrAdd hit, so kept as a boolean). */
  readonly #eagerByDefault: boolean
  readonly #flights = new SingleFlight<unknown>()
  readonly #bus: BackplaneBus | undefined
  /** Whether local layers are used, from the backplane's reports (`local-trust.ts`). */
  readonly #trust: LocalTrust
  readonly #unsubscribe: Array<() => void> = []
  /** Gives back this manager's ownership claims (see ownership.ts); called once closed. */
  readonly #releaseClaims: () => void
  #bound: Promise<void> | undefined
  /** Why the handles' `bind` failed, once it has (every call then fails with it). */
  #bindFailure: unknown
  #connected: Promise<void> = Promise.resolve()
  #usedBeforeConnect = false
  #subscribed = true
  /** True while calls must take the slow entry: binding, not yet subscribed, or closed. */
  #gate = false
  #closed = false
  #closing: Promise<void> | undefined

  /** Validates the options (InvalidOptionsError), binds the handles and starts the backplane. */
  constructor(options: CacheManagerOptions) {
    const resolved = resolveManagerOptions(options)
    this.#options = resolved
    this.name = resolved.name
    const { handles, shared } = resolved
    this.#releaseClaims = claimUses(
      { owned: handles.filter((h) => !shared.has(h)), shared: [...shared] },
      resolved.name,
    )
    const layers = resolved.handles.map(
      (h, i) => new Layer(h, i, resolved.maxLocalTtlMs, resolved.circuitBreaker),
    )
    const fence = new InvalidationFence()
    const { serializer, gapPolicy, slidingTouchRatio } = resolved
    this.#engine = new SyncEngine({
      layers,
      emitter: this.#emitter,
      serializer,
      fence,
      gapPolicy,
      slidingTouchRatio,
    })
    this.#trust = new LocalTrust(
      resolved.backplaneDown,
      this.#engine,
      resolved.backplane?.capabilities.replay === true,
    )
    this.#fanout = new WriteFanout(this.#engine, this.#emitter)
    this.#loops = new WriteLoops(this.#engine, this.#fanout, this.#emitter)
    this.#loader = new FailSafeLoader(
      this.#engine,
      this.#loops,
      this.#emitter,
      newFactoryStats(),
      resolved.policy.grace,
      resolved.name,
    )
    this.#eagerByDefault = resolved.policy.eagerRefresh !== 0
    this.#bulkReads = new BulkReads(this.#engine, this.#emitter, this.#loader.stats)
    this.#bulkWrites = new BulkWrites(this.#engine, this.#fanout, this.#emitter)
    try {
      this.#bound = this.#bind(layers)
    } catch (error) {
      this.#releaseClaims() // a manager that was never made owns nothing
      throw error
    }
    for (const layer of layers) {
      const off = layer.handle.onEvict?.((key, region, reason) =>
        this.#engine.applyEvict(layer, key, region, reason),
      )
      if (off !== undefined) this.#unsubscribe.push(off)
      const offClear = layer.handle.onExternalClear?.((region) =>
        this.#engine.applyExternalClear(layer, region),
      )
      if (offClear !== undefined) this.#unsubscribe.push(offClear)
    }
    if (resolved.backplane !== undefined) this.#bus = this.#startBus(resolved)
    this.#updateGate()
  }

  /** Resolves once the handles are bound and the backplane is subscribed (tests, orderly startup). */
  async ready(): Promise<void> {
    if (this.#closed) throw new ClosedError(`cache '${this.name}' is closed`)
    await this.#bound
    await this.#connected
  }

  /** The value of `key`, or undefined when no level has it (with `allowStale`, a graced value past its expiry too). */
  get(key: string, options?: GetOptions): Promise<V | undefined> {
    // The hot path, not `async`: a memory hit with valid arguments resolves the value
    // directly (measured +10-13% over an async body). Anything else, bad arguments
    // included (they must reject, not throw), takes the async paths below.
    if (!this.#gate && isValidKey(key)) {
      const region = options?.region
      if (region === undefined || isValidRegion(region)) {
        const value = this.#engine.peekTop(key, region)
        if (value !== MISS) {
          // Not traced (see tracing.ts): a trace would cost several memory hits.
          if (topHitListened()) publishTopHit('get', this.name, key, region, this.#engine.top.name)
          return Promise.resolve(value as V)
        }
        if (traceChannels.get.hasSubscribers !== true) return this.#getBelow(key, region, options)
        return traced('get', this, options, this.#getBelow, key, region, options)
      }
    }
    if (traceChannels.get.hasSubscribers !== true) return this.#getChecked(key, options)
    return traced('get', this, options, this.#getChecked, key, options)
  }

  /** The fast path's `get` after the top missed. */
  #getBelow(
    key: string,
    region: string | undefined,
    options: GetOptions | undefined,
  ): Promise<V | undefined> {
    // A top hit is fresh: allowStale only matters after a miss, so hits never read it.
    if (options !== undefined && options.allowStale === true) return this.#getStale(key, region)
    return this.#engine.readValue(key, region, this.#engine.afterPeek) as Promise<V | undefined>
  }

  async #getChecked(key: string, options: GetOptions | undefined): Promise<V | undefined> {
    if (this.#gate) await this.#enter()
    checkKey(key)
    const region = options?.region
    checkRegion(region)
    const value = this.#engine.peekTop(key, region)
    if (value !== MISS) return value as V
    if (options?.allowStale === true) return this.#getStale(key, region)
    return this.#engine.readValue(key, region, this.#engine.afterPeek) as Promise<V | undefined>
  }

  /** `get` with `allowStale` after a top miss: every level (the top again: it may hold a stale item). */
  async #getStale(key: string, region: string | undefined): Promise<V | undefined> {
    const probe = newProbe()
    const found = await this.#engine.read(key, region, 0, probe)
    if (found !== undefined) return found.value as V
    if (probe.stale === undefined) return undefined
    this.#loader.stats.staleReads++
    return probe.stale.value as V
  }

  /**
   * The value of `key` in the top level, synchronously, or undefined: a hit is served as
   * `get` serves a memory hit (expiry honoured, a sliding item extended there and touched
   * below, stats, `get` event at level 0), but a miss never reads the levels below and
   * copies nothing up. Needs a synchronous top handle such as `memoryHandle`
   * (NotSupportedError otherwise); throws InvalidKeyError for bad arguments and
   * ClosedError after close.
   */
  peek(key: string, options?: ReadOptions): V | undefined {
    // The hot path, as in `get`: an open, bound manager over a plain synchronous top with
    // valid arguments goes straight to the top (measured about +15% over the checks below).
    const region = options?.region
    if (
      !this.#gate &&
      this.#engine.fastTop &&
      isValidKey(key) &&
      (region === undefined || isValidRegion(region))
    ) {
      const value = this.#engine.peekTop(key, region)
      if (value !== MISS) {
        if (topHitListened()) publishTopHit('peek', this.name, key, region, this.#engine.top.name)
        return value as V
      }
      if (traceChannels.peek.hasSubscribers !== true) return this.#peekMissed(key, region)
      return tracedSync(this, options, this.#peekMissed, key, region)
    }
    if (traceChannels.peek.hasSubscribers !== true) return this.#peekChecked(key, options)
    return tracedSync(this, options, this.#peekChecked, key, options)
  }

  #peekChecked(key: string, options: ReadOptions | undefined): V | undefined {
    if (this.#gate) this.#enterSync()
    if (!this.#engine.top.sync) {
      const top = this.#engine.top.name
      throw new NotSupportedError(
        `peek needs a synchronous top handle such as memoryHandle; '${top}' is asynchronous`,
        { source: top },
      )
    }
    const region = this.#region(key, options)
    // While an asynchronous `bind` is pending the top is not read: the handle contract has
    // `bind` before first use, and we cannot tell whose bind is still running. Nothing is
    // lost: every write of this manager waits for the bind, so the top holds nothing it
    // wrote yet, and a miss is the right answer.
    const value = this.#bound === undefined ? this.#engine.peek(key, region) : this.#peekMiss()
    return value === MISS ? this.#peekMissed(key, region) : (value as V)
  }

  /** A peek's miss (already counted): the `get` event at level -1 when someone listens. */
  #peekMissed(key: string, region: string | undefined): undefined {
    if (this.#engine.getListened) this.#emitter.emit('get', { key, region, level: -1, handle: undefined })
    return undefined
  }

  /** The item of `key` with its metadata, or undefined; with `allowStale`, a graced item past its expiry marked `stale: true`. */
  getItem(key: string, options?: GetOptions): Promise<CacheItem<V> | undefined> {
    if (traceChannels.getItem.hasSubscribers !== true) return this.#getItem(key, options)
    return traced('getItem', this, options, this.#getItem, key, options)
  }

  async #getItem(key: string, options?: GetOptions): Promise<CacheItem<V> | undefined> {
    const region = await this.#checkRead(key, options)
    const probe = options?.allowStale === true ? newProbe() : undefined
    let found = await this.#engine.read(key, region, 0, probe)
    const stale = found === undefined && probe?.stale !== undefined
    if (stale) {
      found = probe!.stale
      this.#loader.stats.staleReads++
    }
    if (found === undefined) return undefined
    const { mode, ttl, expiresAt, created, version, grace } = found.stored
    const item = {
      value: found.value as V,
      mode,
      ttl,
      expiresAt,
      created,
      version,
      level: found.level,
      stale,
    }
    return grace === undefined || grace === 0 ? item : { ...item, grace }
  }

  /** True when any level has `key`. */
  has(key: string, options?: ReadOptions): Promise<boolean> {
    if (traceChannels.has.hasSubscribers !== true) return this.#has(key, options)
    return traced('has', this, options, this.#has, key, options)
  }

  async #has(key: string, options?: ReadOptions): Promise<boolean> {
    return this.#engine.has(key, await this.#checkRead(key, options))
  }

  /** Writes `value` on every level (bottom first) and tells other instances. */
  set(key: string, value: V, options?: WriteOptions): Promise<void> {
    if (traceChannels.set.hasSubscribers !== true) return this.#set(key, value, options)
    return traced('set', this, options, this.#set, key, value, options)
  }

  #set(key: string, value: V, options?: WriteOptions): Promise<void> {
    if (this.#gate) return this.#setAfterGate(key, value, options)
    try {
      return this.#write(key, value, options)
    } catch (error) {
      return Promise.reject(error) // a refused argument arrives as a rejection
    }
  }

  /** {@link #set} through a closed gate (the manager is still connecting). */
  async #setAfterGate(key: string, value: V, options?: WriteOptions): Promise<void> {
    await this.#enter()
    await this.#write(key, value, options)
  }

  /**
   * Checks `set`'s arguments synchronously (throws for a refused one), then writes. The
   * common write, without tags, has no async frame of its own: it returns the fan-out's
   * promise (an awaited helper returning an object was about 13% of a writer's profile).
   */
  #write(key: string, value: V, options: WriteOptions | undefined): Promise<void> {
    const region = this.#writeRegion(key, value, options)
    const expiration = this.#expiration(options)
    const grace = this.#grace(options, expiration)
    const tags = checkTags(options?.tags)
    if (tags === undefined)
      return this.#fanout.set(key, region, this.#engine.codec.encode(value), expiration, grace)
    return this.#encodeTagged(value, tags).then((encoded) =>
      this.#fanout.set(key, region, encoded, expiration, grace),
    )
  }

  /** Writes `value` only if `key` is absent in the source of truth; true when it was added. */
  add(key: string, value: V, options?: WriteOptions): Promise<boolean> {
    if (traceChannels.add.hasSubscribers !== true) return this.#add(key, value, options)
    return traced('add', this, options, this.#add, key, value, options)
  }

  async #add(key: string, value: V, options?: WriteOptions): Promise<boolean> {
    if (this.#gate) await this.#enter()
    const region = this.#writeRegion(key, value, options)
    const expiration = this.#expiration(options)
    const grace = this.#grace(options, expiration)
    const tags = checkTags(options?.tags)
    const encoded =
      tags === undefined ? this.#engine.codec.encode(value) : await this.#encodeTagged(value, tags)
    return this.#loops.add(key, region, encoded, expiration, grace)
  }

  /**
   * Removes every item carrying any of `tags` from every level of every instance, in O(1) of
   * the items tagged: the tags get new stamps in the bottom handle, announced on the
   * backplane, and an item written before its tag's new stamp is never returned again (see
   * `tag-stamps.ts`). Throws InvalidKeyError/InvalidOptionsError for bad tags (nothing written).
   */
  async removeByTag(tags: string | readonly string[]): Promise<void> {
    if (this.#gate) await this.#enter()
    await this.#engine.invalidateTags(checkTagArgument(tags))
  }

  /** A tagged write's value, recording the current stamps of its tags. */
  #encodeTagged(value: V, tags: readonly string[]): Promise<Encoded> {
    return encodeTagged(this.#engine.stamps, this.#engine.codec, value, tags)
  }

  /**
   * The value of `key`, or the factory's: one factory call per key per process however
   * many callers wait, and the value that wins the bottom handle's `add` is what every
   * caller gets. The factory is called as `factory(key, region, ctx)`. With grace, a
   * failing or slow factory or store falls back to the graced value (fail-safe, soft and
   * hard timeouts; see {@link GetOrAddOptions}); without one it rejects with FactoryError
   * or FactoryTimeoutError.
   */
  getOrAdd(key: string, factory: Factory<V>, options?: GetOrAddOptions): Promise<V> {
    // The hot path, as in `get`: a memory hit of a call without options resolves at once.
    if (!this.#gate && options === undefined && typeof factory === 'function' && isValidKey(key)) {
      const hit = this.#eagerByDefault
        ? this.#eagerTopHit(key, undefined, factory, undefined)
        : this.#engine.peekTop(key, undefined)
      if (hit !== MISS) {
        if (topHitListened()) publishTopHit('getOrAdd', this.name, key, undefined, this.#engine.top.name)
        return Promise.resolve(hit as V)
      }
    }
    if (traceChannels.getOrAdd.hasSubscribers !== true) return this.#getOrAddChecked(key, factory, options)
    return traced('getOrAdd', this, options, this.#getOrAddChecked, key, factory, options)
  }

  async #getOrAddChecked(key: string, factory: Factory<V>, options: GetOrAddOptions | undefined): Promise<V> {
    const region = await this.#checkRead(key, options)
    if (typeof factory !== 'function') throw new InvalidOptionsError('getOrAdd needs a factory function')
    const request = this.#request(key, region, factory, options)
    const hit =
      request.policy.eagerRefresh !== 0
        ? this.#eagerTopHit(key, region, factory, options, request)
        : this.#engine.peekTop(key, region)
    if (hit !== MISS) return hit as V
    return this.#flights.run(keyId(key, region), () => this.#loader.load(request)) as Promise<V>
  }

  /** The resolved getOrAdd call (options checked: InvalidOptionsError, InvalidExpirationError). */
  #request(
    key: string,
    region: string | undefined,
    factory: Factory<V>,
    options: GetOrAddOptions | undefined,
  ): LoadRequest {
    const policy = callPolicy(options, this.#options.policy)
    const expiration = this.#expiration(options)
    const grace = callGrace(options?.grace, expiration, this.#options.policy.grace)
    const tags = checkTags(options?.tags)
    return { key, region, factory: factory as Factory<unknown>, policy, expiration, grace, tags }
  }

  /**
   * A top hit of a getOrAdd that refreshes eagerly: the top's item, read once, is served and
   * decides whether the threshold is passed. The request of a call without options is built
   * only then, not on every hit.
   */
  #eagerTopHit(
    key: string,
    region: string | undefined,
    factory: Factory<V>,
    options: GetOrAddOptions | undefined,
    request?: LoadRequest,
  ): unknown {
    const item = this.#engine.peekTopItem(key, region)
    if (item === MISS) return MISS
    const hit = this.#engine.servedFromTop(key, region, item)
    if (hit === MISS || item === undefined) return hit
    if (refreshDue(item, request?.policy.eagerRefresh ?? this.#options.policy.eagerRefresh))
      this.#loader.startRefresh(
        request ?? this.#request(key, region, factory, options),
        item,
        untag(item.value),
      )
    return hit
  }

  /** Applies `fn` with compare-and-set on the source of truth; throws UpdateMissingError, UpdateConflictError, FactoryUndefinedError. */
  update(key: string, fn: (value: V) => V | Promise<V>, options?: UpdateOptions): Promise<V> {
    if (traceChannels.update.hasSubscribers !== true) return this.#update(key, fn, options)
    return traced('update', this, options, this.#update, key, fn, options)
  }

  async #update(key: string, fn: (value: V) => V | Promise<V>, options?: UpdateOptions): Promise<V> {
    return unwrapUpdate(key, await this.#tryUpdate(key, fn, options))
  }

  /** Like {@link update}, but reports `missing`, `conflict` or `factory-returned-undefined` instead of throwing. */
  tryUpdate(
    key: string,
    fn: (value: V) => V | Promise<V>,
    options?: UpdateOptions,
  ): Promise<UpdateResult<V>> {
    if (traceChannels.tryUpdate.hasSubscribers !== true) return this.#tryUpdate(key, fn, options)
    return traced('tryUpdate', this, options, this.#tryUpdate, key, fn, options)
  }

  async #tryUpdate(
    key: string,
    fn: (value: V) => V | Promise<V>,
    options: UpdateOptions | undefined,
  ): Promise<UpdateResult<V>> {
    const region = await this.#checkRead(key, options)
    if (options?.expiration !== undefined) checkExpiration(options.expiration)
    if (typeof fn !== 'function') throw new InvalidOptionsError('update needs a function')
    if (options?.tags !== undefined)
      throw new InvalidOptionsError("update keeps the item's tags; set or addOrUpdate give tags")
    const grace =
      options?.grace === undefined
        ? undefined
        : this.#grace(options, options.expiration ?? this.#options.expiration)
    return this.#loops.update(key, region, fn, options?.expiration, this.#retries(options), grace)
  }

  /** Adds `value` when `key` is absent, otherwise updates it with `fn` (CAS); returns the value stored. */
  addOrUpdate(key: string, value: V, fn: (value: V) => V | Promise<V>, options?: UpdateOptions): Promise<V> {
    if (traceChannels.addOrUpdate.hasSubscribers !== true) return this.#addOrUpdate(key, value, fn, options)
    return traced('addOrUpdate', this, options, this.#addOrUpdate, key, value, fn, options)
  }

  async #addOrUpdate(
    key: string,
    value: V,
    fn: (value: V) => V | Promise<V>,
    options: UpdateOptions | undefined,
  ): Promise<V> {
    if (this.#gate) await this.#enter()
    const region = this.#writeRegion(key, value, options)
    const expiration = this.#expiration(options)
    if (typeof fn !== 'function') throw new InvalidOptionsError('addOrUpdate needs a function')
    const tags = checkTags(options?.tags)
    const encoded =
      tags === undefined ? this.#engine.codec.encode(value) : await this.#encodeTagged(value, tags)
    return unwrapUpdate(
      key,
      await this.#loops.addOrUpdate(
        key,
        region,
        encoded,
        fn,
        expiration,
        this.#retries(options),
        this.#grace(options, expiration),
      ),
    )
  }

  /** Removes `key` from every level; true when any level held it. */
  remove(key: string, options?: ReadOptions): Promise<boolean> {
    if (traceChannels.remove.hasSubscribers !== true) return this.#remove(key, options)
    return traced('remove', this, options, this.#remove, key, options)
  }

  async #remove(key: string, options?: ReadOptions): Promise<boolean> {
    if (this.#gate) await this.#enter()
    return this.#fanout.remove(key, this.#region(key, options))
  }

  /**
   * The values of `keys` in their order, undefined where no level has one (with
   * `allowStale`, a graced value past its expiry too). Each level is asked once for the keys
   * still missing (a handle's `getMany`: one round trip); hits are copied up as `get` does.
   * One invalid key rejects the whole call (InvalidKeyError).
   */
  getMany(keys: readonly string[], options?: GetOptions): Promise<Array<V | undefined>> {
    if (traceChannels.getMany.hasSubscribers !== true) return this.#getMany(keys, options)
    return traced('getMany', this, options, this.#getMany, keys, options)
  }

  async #getMany(keys: readonly string[], options?: GetOptions): Promise<Array<V | undefined>> {
    if (this.#gate) await this.#enter()
    const region = checkKeys(keys, options?.region, 'getMany')
    const allowStale = options?.allowStale === true
    return (await this.#bulkReads.getMany(keys, region, allowStale)) as Array<V | undefined>
  }

  /**
   * Writes every entry as `set` would (bottom first, one call per level for all of them)
   * and tells other instances in one backplane frame where it fits. The last entry of a
   * repeated key wins. Every entry is checked and serialized before anything is written.
   */
  setMany(entries: ReadonlyArray<SetManyEntry<V>>, options?: WriteOptions): Promise<void> {
    if (traceChannels.setMany.hasSubscribers !== true) return this.#setMany(entries, options)
    return traced('setMany', this, options, this.#setMany, entries, options)
  }

  async #setMany(entries: ReadonlyArray<SetManyEntry<V>>, options?: WriteOptions): Promise<void> {
    if (this.#gate) await this.#enter()
    const { keys, values, region } = checkEntries<V>(entries, options?.region)
    const expiration = this.#expiration(options)
    const grace = this.#grace(options, expiration)
    const tags = checkTags(options?.tags)
    const encoded =
      tags === undefined
        ? values.map((value) => this.#engine.codec.encode(value))
        : await Promise.all(values.map((value) => this.#encodeTagged(value, tags)))
    await this.#bulkWrites.setMany(keys, encoded, region, expiration, grace)
  }

  /** Removes `keys` from every level (one call per level) and tells other instances; one invalid key rejects the call. */
  removeMany(keys: readonly string[], options?: ReadOptions): Promise<void> {
    if (traceChannels.removeMany.hasSubscribers !== true) return this.#removeMany(keys, options)
    return traced('removeMany', this, options, this.#removeMany, keys, options)
  }

  async #removeMany(keys: readonly string[], options?: ReadOptions): Promise<void> {
    if (this.#gate) await this.#enter()
    const region = checkKeys(keys, options?.region, 'removeMany')
    await this.#bulkWrites.removeMany(distinctKeys(keys).keys, region)
  }

  /** Changes the expiration of `key` on every level; true when the source of truth has it. */
  expire(key: string, expiration: Expiration, options?: ReadOptions): Promise<boolean> {
    if (traceChannels.expire.hasSubscribers !== true) return this.#expire(key, expiration, options)
    return traced('expire', this, options, this.#expire, key, expiration, options)
  }

  async #expire(key: string, expiration: Expiration, options?: ReadOptions): Promise<boolean> {
    const region = await this.#checkRead(key, options)
    checkExpiration(expiration)
    return this.#fanout.expire(key, region, expiration)
  }

  /** Removes every item of this cache (never another cache's data) on every level. */
  clear(): Promise<void> {
    if (traceChannels.clear.hasSubscribers !== true) return this.#clear()
    return traced('clear', this, undefined, this.#clear)
  }

  async #clear(): Promise<void> {
    await this.#enter()
    await this.#fanout.clear(undefined)
  }

  /** Removes every item of one region on every level. */
  clearRegion(region: string): Promise<void> {
    if (traceChannels.clearRegion.hasSubscribers !== true) return this.#clearRegion(region)
    return traced('clearRegion', this, { region }, this.#clearRegion, region)
  }

  async #clearRegion(region: string): Promise<void> {
    await this.#enter()
    if (region === undefined) throw new InvalidKeyError('clearRegion needs a region')
    checkRegion(region)
    await this.#fanout.clear(region)
  }

  /** Registers an event listener. */
  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#emitter.on(event, listener)
    if (event === 'get') this.#engine.getListened = true
    return this
  }

  /** Removes an event listener. */
  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#emitter.off(event, listener)
    if (event === 'get') this.#engine.getListened = this.#emitter.has('get')
    return this
  }

  /** Counters per handle and of the backplane. */
  stats(): CacheStats {
    const handles: Record<string, HandleStats> = {}
    for (const layer of this.#engine.layers) handles[layer.name] = { ...layer.stats }
    const bus = this.#bus?.stats()
    const trust = this.#trust
    return {
      handles,
      factory: { ...this.#loader.stats },
      backplane: bus && { ...bus, bypassing: !trust.trusted, bypasses: trust.bypasses },
      unsettledWrites: this.#engine.lateWrites.size,
    }
  }

  /** Resolves when every backplane message announced so far has been published (no-op without a backplane). */
  async flush(): Promise<void> {
    if (this.#closed) throw new ClosedError(`cache '${this.name}' is closed`)
    await this.#bus?.flush()
  }

  /**
   * Flushes pending backplane messages, closes this cache's backplane subscription (the
   * backplane itself closes with its last subscription), then the handles it owns (not
   * `shared` ones). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    this.#gate = true
    this.#loader.close()
    this.#engine.lateWrites.close()
    await this.#bound?.catch(() => undefined)
    if (this.#bus !== undefined) {
      try {
        await this.#bus.close()
      } catch (error) {
        reportError(this.#emitter, undefined, 'close', asBackplaneError(error))
      }
    }
    for (const off of this.#unsubscribe) off()
    for (const layer of this.#engine.layers) {
      // A shared handle is its creator's to close: other managers may still use it.
      if (this.#options.shared.has(layer.handle)) continue
      await attempt(this.#emitter, layer, 'close', (h) => h.close(), undefined)
    }
    this.#releaseClaims()
  }

  /** Rejects calls after close; waits for the handles' `bind` on the first calls. */
  async #enter(): Promise<void> {
    if (this.#closed) throw new ClosedError(`cache '${this.name}' is closed`)
    if (this.#bound !== undefined) await this.#bound
    if (!this.#subscribed) this.#usedBeforeConnect = true
  }

  /** {@link #enter} for a synchronous call: throws instead of waiting (a pending bind is the caller's to handle). */
  #enterSync(): void {
    if (this.#closed) throw new ClosedError(`cache '${this.name}' is closed`)
    if (this.#bindFailure !== undefined) throw this.#bindFailure
    if (!this.#subscribed) this.#usedBeforeConnect = true
  }

  /** A peek that does not read the top (bind pending): counted as the top's miss. */
  #peekMiss(): typeof MISS {
    this.#engine.top.stats.misses++
    return MISS
  }

  #updateGate(): void {
    this.#gate = this.#closed || this.#bound !== undefined || !this.#subscribed
  }

  async #checkRead(key: string, options: ReadOptions | undefined): Promise<string | undefined> {
    if (this.#gate) await this.#enter()
    return this.#region(key, options)
  }

  /** The region of a key operation, once its key and region are checked. */
  #region(key: string, options: ReadOptions | undefined): string | undefined {
    checkKey(key)
    const region = options?.region
    checkRegion(region)
    return region
  }

  /** {@link #region} for a write of `value`, which is checked too. */
  #writeRegion(key: string, value: V, options: ReadOptions | undefined): string | undefined {
    const region = this.#region(key, options)
    checkValue(value)
    return region
  }

  #expiration(options: WriteOptions | undefined): Expiration {
    return callExpiration(options, this.#options.expiration)
  }

  /** The grace of a write (InvalidExpirationError for a bad one, or one on a sliding item). */
  #grace(options: WriteOptions | undefined, expiration: Expiration): number {
    return callGrace(options?.grace, expiration, this.#options.policy.grace)
  }

  #retries(options: UpdateOptions | undefined): number {
    return callRetries(options, this.#options.updateRetries)
  }

  /** Calls `bind` on every handle; undefined when all bound synchronously. */
  #bind(layers: readonly Layer[]): Promise<void> | undefined {
    const pending = bindHandles(layers, this.name)
    if (pending === undefined) return undefined
    const bound = pending.then(() => {
      this.#bound = undefined
      this.#updateGate()
    })
    // Surfaced to every caller by #enter (and #enterSync), not as an unhandled rejection.
    bound.catch((error: unknown) => {
      this.#bindFailure = error
    })
    return bound
  }

  #startBus(options: ResolvedManagerOptions): BackplaneBus {
    const engine = this.#engine
    const emitter = this.#emitter
    const bus = createBus(options, engine, emitter, this.#trust)
    this.#subscribed = false
    this.#connected = bus.start().then(
      () => {
        this.#subscribed = true
        this.#updateGate()
        this.#trust.onStarted()
        // Items read before the subscription was live may have missed invalidations.
        if (this.#usedBeforeConnect)
          engine.applyGap({ reason: 'connect', recovered: false, detail: 'used before subscribed' })
      },
      (error: unknown) => {
        // Not subscribed: remote changes cannot reach us. Report it and keep serving, from the
        // distributed layers only unless `backplaneDown: 'keep'`, until the transport is live.
        this.#subscribed = true
        this.#updateGate()
        reportError(emitter, undefined, 'backplane', asBackplaneError(error))
        this.#trust.onStartFailed()
      },
    )
    return bus
  }
}
