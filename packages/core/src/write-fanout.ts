/**
 * The write fan-out of the sync algorithm (see `sync-engine.ts`): `set` writes the
 * bottom (source of truth) first, then the levels above with the bottom's version;
 * `remove`/`expire`/`clear`/`clearRegion` run on every level, bottom first. A failed
 * level does not stop the others (a stale upper copy is dropped when its write fails);
 * the change is still announced, and the first failure is thrown to the caller, so
 * data is never silently lost. A failed bottom write may have landed all the same (its
 * reply lost, or timed out after the store applied it): the key is then left "unsettled"
 * ({@link WriteFanout.unsettled}), evicted above and announced, so no instance keeps
 * serving what the store may no longer hold.
 *
 * `set` is the writer's hot path (profiled at ~2-4 us of CPU per set through the
 * manager, a third of it garbage collection). So `set` and `remove` call each level with
 * the error policy of `guard` applied inline, which costs a closure and an async frame
 * per level otherwise, and reach a synchronous level (the memory handle) without a
 * promise or a turn of the microtask queue; and `set` builds each level's item in one object.
 */
import type { ChangeKind } from './backplane/messages.js'
import type { Expiration, ItemInput, MaybePromise } from './contracts/cache-handle.js'
import type { CacheplaneError } from './errors.js'
import type { CacheEmitter } from './events.js'
import { fitExpiration, fitItem } from './expiration.js'
import type { FenceTicket } from './invalidation-fence.js'
import type { Encoded } from './item-codec.js'
import { mayHaveLanded } from './late-writes.js'
import {
  attempt,
  circuitRefusal,
  guard,
  isPromise,
  type Layer,
  layerFailed,
  layerSucceeded,
  readQuietly,
} from './layer.js'
import { keyId } from './single-flight.js'
import { TAG_REGION } from './tags.js'
import type { SyncEngine } from './sync-engine.js'

/** A `set`'s write of the levels above the bottom, handed to its asynchronous part. */
interface AboveWrite {
  readonly key: string
  readonly region: string | undefined
  readonly encoded: Encoded
  readonly expiration: Expiration
  readonly now: number
  readonly version: number
  readonly ticket: FenceTicket | undefined
  readonly grace: number
}

/** Writes that touch every level of one manager. */
export class WriteFanout {
  readonly #engine: SyncEngine
  readonly #emitter: CacheEmitter

  constructor(engine: SyncEngine, emitter: CacheEmitter) {
    this.#engine = engine
    this.#emitter = emitter
  }

  /**
   * `set`: bottom first, then the levels above with the bottom's version, then announce
   * (as soon as the bottom write is sent when the backplane delivers behind it:
   * {@link SyncEngine.announcesWithBottomWrite}). The write fence: when anything has to be
   * awaited before the levels above are written, a ticket is taken before the bottom write;
   * if the key is invalidated meanwhile (a remote write heard while our reply was late, a
   * clear, a gap), our value may already be older than the store's, so the levels above are
   * evicted instead of written.
   */
  async set(
    key: string,
    region: string | undefined,
    encoded: Encoded,
    expiration: Expiration,
    grace = 0,
  ): Promise<void> {
    const now = Date.now()
    const engine = this.#engine
    const bottom = engine.bottom
    // A fully synchronous stack cannot interleave with anything: no ticket, no allocation.
    const ticket = engine.allSync ? undefined : engine.fence.enter(keyId(key, region))
    let failure: CacheplaneError | undefined
    // The backplane delivers our frame only after the store applied the write sent before
    // it: announce now, a round trip sooner, rather than after the reply.
    const early = engine.announcesWithBottomWrite
    try {
      const item = setItem(bottom, encoded, expiration, now, undefined, grace)!
      let version: number
      try {
        const written = this.#setOn(bottom, key, region, item)
        if (early) engine.announce(key, region, 'set')
        version = bottom.sync ? (written as number) : await written
      } catch (error) {
        await this.unsettled(key, region, 'set', error)
        throw error
      }
      bottom.stats.sets++
      const above = this.#setAbove(key, region, encoded, expiration, now, version, ticket, grace)
      failure = isPromise(above) ? await above : above
    } finally {
      if (ticket !== undefined) engine.fence.leave(ticket)
    }
    engine.changed(key, region, 'set', early)
    if (failure !== undefined) throw failure
  }

  /**
   * Writes the levels above the bottom, top-most last, while the ticket stays current; from
   * the first level the fence refuses (or whose write failed) on, the key is evicted instead,
   * since that level may hold a value older than the one written. Returns the first failure.
   *
   * Synchronous while every level it meets is a trusted synchronous one whose write
   * succeeds (the memory tier above a store: no promise, no turn of the microtask queue);
   * {@link #setAboveFrom} takes over at the first level that needs anything awaited.
   */
  #setAbove(
    key: string,
    region: string | undefined,
    encoded: Encoded,
    expiration: Expiration,
    now: number,
    version: number,
    ticket: FenceTicket | undefined,
    grace: number,
  ): MaybePromise<CacheplaneError | undefined> {
    const engine = this.#engine
    let j = engine.bottom.index - 1
    let failed: CacheplaneError | undefined
    for (; j >= 0; j--) {
      const layer = engine.layers[j]!
      const plain = layer.sync && (!layer.local || engine.localTrusted)
      if (!plain || (ticket !== undefined && !engine.fence.isCurrent(ticket))) break
      const input = setItem(layer, encoded, expiration, now, version, grace)
      if (input === undefined) continue
      try {
        this.#setOn(layer, key, region, input)
        layer.stats.sets++
      } catch (error) {
        failed = error as CacheplaneError
        break
      }
    }
    if (j < 0 && (ticket === undefined || engine.fence.isCurrent(ticket))) return undefined
    // The rest, from level j down (j = -1: only the check for a write that landed late).
    return this.#setAboveFrom(j, failed, { key, region, encoded, expiration, now, version, ticket, grace })
  }

  /**
   * {@link #setAbove} from level `from` down, awaiting what it must; `failed` is the failure
   * of level `from`'s write when the synchronous part already tried it.
   */
  async #setAboveFrom(
    from: number,
    failed: CacheplaneError | undefined,
    write: AboveWrite,
  ): Promise<CacheplaneError | undefined> {
    const { key, region, encoded, expiration, now, version, ticket, grace } = write
    const engine = this.#engine
    let failure: CacheplaneError | undefined
    for (let j = from; j >= 0; j--) {
      const layer = engine.layers[j]!
      if (j === from && failed !== undefined) {
        failure = failed
        await this.#dropAfterFailure(layer, key, region)
        continue
      }
      if (layer.local && !engine.localTrusted) {
        // Bypassing local layers: an old copy must not survive, a new one must not be written.
        await attempt(this.#emitter, layer, 'remove', (h) => h.remove(key, region), false)
        continue
      }
      if (ticket !== undefined && !engine.fence.isCurrent(ticket)) {
        await this.#evictFrom(j, key, region)
        return failure
      }
      const input = setItem(layer, encoded, expiration, now, version, grace)
      try {
        if (input === undefined) continue
        const done = this.#setOn(layer, key, region, input)
        if (!layer.sync) await done
        layer.stats.sets++
      } catch (error) {
        failure ??= error as CacheplaneError
        await this.#dropAfterFailure(layer, key, region)
      }
    }
    // An asynchronous upper level's write may have landed after an invalidation.
    if (ticket !== undefined && !engine.fence.isCurrent(ticket))
      await this.#evictFrom(engine.bottom.index - 1, key, region)
    return failure
  }

  /**
   * A write of the bottom failed, but may have landed: a lost reply, or a timeout after the
   * store applied it (found by the model-based tests: the other instances kept the value it
   * replaced for good). Whatever the key holds now, nobody may keep serving an older copy: it
   * is fenced, evicted from the levels above and announced as changed, as a write that
   * succeeded would be, so every instance reads the store again; and settled once more when
   * the write can no longer land ({@link lateWrite}). Nothing to do when it cannot have landed
   * ({@link mayHaveLanded}). Never fails (eviction errors are reported).
   */
  async unsettled(
    key: string,
    region: string | undefined,
    change: ChangeKind | 'remove',
    error: unknown,
  ): Promise<void> {
    if (!mayHaveLanded(this.#engine.bottom, error)) return
    this.lateWrite(key, region, change)
    await this.#settle(key, region, change)
  }

  /**
   * A failed write of the key may still land (sent again after a reconnect, executed late by a
   * slow server): probe the key, and settle it again once the probe answered (`late-writes.ts`).
   * The probe reads without sliding the item, as the failed write's connection does.
   */
  lateWrite(key: string, region: string | undefined, change: ChangeKind | 'remove'): void {
    this.#engine.lateWrites.watch(keyId(key, region), {
      probe: (handle) => readQuietly(handle, key, region),
      settle: () => this.#settle(key, region, change),
    })
  }

  /** Fences the key, announces it and evicts it from the levels above. Never fails. */
  async #settle(key: string, region: string | undefined, change: ChangeKind | 'remove'): Promise<void> {
    const engine = this.#engine
    engine.fence.invalidate(keyId(key, region))
    if (change === 'remove') engine.announcer?.announce({ type: 'removed', key, region })
    else engine.announce(key, region, change)
    await this.evictAbove(key, region)
  }

  /** Clears `region` (undefined: everything) of one level; counted. */
  async #clearOn(layer: Layer, region: string | undefined): Promise<void> {
    const operation = region === undefined ? 'clear' : 'clearRegion'
    await guard(this.#emitter, layer, operation, (h) =>
      region === undefined ? h.clear() : h.clearRegion(region),
    )
    layer.stats.clears++
  }

  /** After a clear: nothing read before it may be copied up or trusted; announced. */
  #cleared(region: string | undefined): void {
    const engine = this.#engine
    engine.fence.invalidateAll()
    engine.forgetTouches()
    // The clear took the tag stamps with it: they are read again (as "never invalidated").
    if (region === undefined) engine.stamps.drop()
    engine.announcer?.announce(region === undefined ? { type: 'cleared' } : { type: 'regionCleared', region })
  }

  /**
   * A failed clear of the bottom may still land, as a write may ({@link lateWrite}): once a probe
   * sent after it answered, the levels above are cleared again and the clear announced again.
   * The probe is the handle's `barrier` (every connection answered), else a read of a reserved
   * key (a read changes nothing), which covers a store on one connection.
   */
  #lateClear(region: string | undefined): void {
    const engine = this.#engine
    engine.lateWrites.watch(region === undefined ? '\u0000clear' : `\u0000clear:${region}`, {
      probe: (handle) =>
        handle.barrier !== undefined ? handle.barrier() : readQuietly(handle, CLEAR_PROBE, TAG_REGION),
      settle: async () => {
        // Failures are reported by #clearOn; the clear is announced whatever they were.
        for (let j = engine.bottom.index - 1; j >= 0; j--)
          await this.#clearOn(engine.layers[j]!, region).catch(() => undefined)
        this.#cleared(region)
      },
    })
  }

  /** After a failed write the level may still hold the old value: drop it so it cannot be served. */
  async #dropAfterFailure(layer: Layer, key: string, region: string | undefined): Promise<void> {
    await attempt(this.#emitter, layer, 'remove', (h) => h.remove(key, region), false)
  }

  /** Drops the key from every level above the bottom without failing (errors are reported). */
  evictAbove(key: string, region: string | undefined): Promise<void> {
    return this.#evictFrom(this.#engine.bottom.index - 1, key, region)
  }

  /** Drops the key from levels `from` .. 0 without failing the write (errors are reported). */
  async #evictFrom(from: number, key: string, region: string | undefined): Promise<void> {
    for (let j = from; j >= 0; j--) {
      const layer = this.#engine.layers[j]!
      if (await attempt(this.#emitter, layer, 'remove', (h) => h.remove(key, region), false))
        layer.stats.removes++
    }
  }

  /** After a write on the bottom only: evict the key from the levels above, then announce. */
  async afterBottomWrite(key: string, region: string | undefined, change: ChangeKind): Promise<void> {
    const failure = await this.#removeFrom(this.#engine.bottom.index - 1, key, region)
    this.#engine.changed(key, region, change)
    if (failure !== undefined) throw failure
  }

  /** Removes the key from every level; true when any level held it. */
  async remove(key: string, region: string | undefined): Promise<boolean> {
    const engine = this.#engine
    let removed = false
    let failure: CacheplaneError | undefined
    let announced = false
    for (let j = engine.bottom.index; j >= 0; j--) {
      const layer = engine.layers[j]!
      try {
        const done = this.#removeOn(layer, key, region)
        // Sent to a bottom the backplane delivers behind: announce now, as `set` does.
        if (j === engine.bottom.index && engine.announcesWithBottomWrite) {
          engine.announcer?.announce({ type: 'removed', key, region })
          announced = true
        }
        if (layer.sync ? (done as boolean) : await done) {
          layer.stats.removes++
          removed = true
        }
      } catch (error) {
        failure ??= error as CacheplaneError
        if (j === engine.bottom.index && mayHaveLanded(layer, error)) this.lateWrite(key, region, 'remove')
      }
    }
    engine.fence.invalidate(keyId(key, region))
    if (!announced) engine.announcer?.announce({ type: 'removed', key, region })
    if (this.#emitter.has('remove')) this.#emitter.emit('remove', { key, region, origin: 'local' })
    if (failure !== undefined) throw failure
    return removed
  }

  /**
   * Changes the key's expiration on the bottom (source), then evicts the key from the levels
   * above; true when the bottom has it. The copies above are dropped, not re-timed: an expire
   * applied to a copy after a newer write of the key landed there (or after the store refused
   * the expire) would give that copy a lifetime the stored item does not have, and it would be
   * served past the store's expiry (found by the model-based tests). The next read copies the
   * item up with its new lifetime.
   */
  async expire(key: string, region: string | undefined, expiration: Expiration): Promise<boolean> {
    const bottom = this.#engine.bottom
    const { mode, ttl, expiresAt } = fitExpiration(expiration, bottom.limits, Date.now())
    let exists = false
    let failure: CacheplaneError | undefined
    try {
      exists = await guard(this.#emitter, bottom, 'expire', (h) =>
        h.expire(key, region, mode, ttl, expiresAt),
      )
    } catch (error) {
      failure = error as CacheplaneError
      if (mayHaveLanded(bottom, error)) this.lateWrite(key, region, 'expire')
    }
    const evicted = await this.#removeFrom(bottom.index - 1, key, region)
    this.#engine.changed(key, region, 'expire')
    failure ??= evicted
    if (failure !== undefined) throw failure
    return exists
  }

  /** Clears every level (`region` undefined) or one region of every level, then announces. */
  async clear(region: string | undefined): Promise<void> {
    let failure: CacheplaneError | undefined
    const bottom = this.#engine.bottom
    for (let j = bottom.index; j >= 0; j--) {
      try {
        await this.#clearOn(this.#engine.layers[j]!, region)
      } catch (error) {
        failure ??= error as CacheplaneError
        if (j === bottom.index && mayHaveLanded(bottom, error)) this.#lateClear(region)
      }
    }
    this.#cleared(region)
    if (region === undefined) {
      if (this.#emitter.has('clear')) this.#emitter.emit('clear', { origin: 'local' })
    } else if (this.#emitter.has('clearRegion'))
      this.#emitter.emit('clearRegion', { region, origin: 'local' })
    if (failure !== undefined) throw failure
  }

  /**
   * `guard(emitter, layer, 'set', (h) => h.set(key, region, item))` without the closure and
   * the async frame: a synchronous level answers synchronously (a refused or failed call
   * throws), an asynchronous one with a promise (a failed call rejects). Same policy:
   * circuit check, success and failure recorded, raw errors wrapped and reported.
   */
  #setOn(
    layer: Layer,
    key: string,
    region: string | undefined,
    item: ItemInput<unknown>,
  ): MaybePromise<number> {
    const refused = circuitRefusal(this.#emitter, layer, 'set')
    if (refused !== undefined) throw refused
    if (!layer.sync) return this.#setAsync(layer, key, region, item)
    try {
      const version = layer.handle.set(key, region, item) as number
      layerSucceeded(layer)
      return version
    } catch (raw) {
      throw layerFailed(this.#emitter, layer, 'set', raw)
    }
  }

  async #setAsync(
    layer: Layer,
    key: string,
    region: string | undefined,
    item: ItemInput<unknown>,
  ): Promise<number> {
    try {
      const version = await layer.handle.set(key, region, item)
      layerSucceeded(layer)
      return version
    } catch (raw) {
      throw layerFailed(this.#emitter, layer, 'set', raw)
    }
  }

  /** `guard(emitter, layer, 'remove', (h) => h.remove(key, region))` inline, like {@link #setOn}. */
  #removeOn(layer: Layer, key: string, region: string | undefined): MaybePromise<boolean> {
    const refused = circuitRefusal(this.#emitter, layer, 'remove')
    if (refused !== undefined) throw refused
    if (!layer.sync) return this.#removeAsync(layer, key, region)
    try {
      const removed = layer.handle.remove(key, region) as boolean
      layerSucceeded(layer)
      return removed
    } catch (raw) {
      throw layerFailed(this.#emitter, layer, 'remove', raw)
    }
  }

  async #removeAsync(layer: Layer, key: string, region: string | undefined): Promise<boolean> {
    try {
      const removed = await layer.handle.remove(key, region)
      layerSucceeded(layer)
      return removed
    } catch (raw) {
      throw layerFailed(this.#emitter, layer, 'remove', raw)
    }
  }

  /** Removes the key from levels `from` .. 0; returns the first failure. */
  async #removeFrom(
    from: number,
    key: string,
    region: string | undefined,
  ): Promise<CacheplaneError | undefined> {
    let failure: CacheplaneError | undefined
    for (let j = from; j >= 0; j--) {
      const layer = this.#engine.layers[j]!
      try {
        const done = this.#removeOn(layer, key, region)
        if (layer.sync ? (done as boolean) : await done) layer.stats.removes++
      } catch (error) {
        failure ??= error as CacheplaneError
      }
    }
    return failure
  }
}

/** The key a failed clear's probe reads (`WriteFanout.#lateClear`), in the tags' region: a stamp at most, never changed. */
const CLEAR_PROBE = '~cacheplane:clear-probe'

/**
 * The item `set` writes at `layer` (what `newItem` then `SyncEngine.itemFor` make, in one
 * object instead of a base item plus a spread copy per level), fitted to the level's
 * limits; undefined when its lifetime is already over. `version` only when known; `grace`
 * only on absolute items that have one (items without keep their shape).
 */
export function setItem(
  layer: Layer,
  encoded: Encoded,
  expiration: Expiration,
  now: number,
  version: number | undefined,
  grace: number,
): ItemInput<unknown> | undefined {
  const value = layer.bytes ? encoded.bytes : encoded.held
  const mode = expiration.mode
  const ttl = mode === 'none' ? 0 : expiration.ttl
  const expiresAt = mode === 'none' ? 0 : now + ttl
  let item: ItemInput<unknown> =
    version === undefined
      ? { value, mode, ttl, expiresAt, created: now }
      : { value, mode, ttl, expiresAt, created: now, version }
  if (grace !== 0 && mode === 'absolute') item = { ...item, grace }
  return fitItem(item, layer.limits, now)
}
