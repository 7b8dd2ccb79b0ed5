/**
 * The writes that loop on the bottom (source-of-truth) handle: `add`, the CAS loop of
 * `update`, `addOrUpdate`, and getOrAdd's add-or-read. They run on the bottom only,
 * because only there is the operation atomic across instances; the levels above are
 * evicted (or, for getOrAdd's winner, filled with add under the fence) afterwards.
 */
import type {
  CacheHandle,
  Expiration,
  ItemInput,
  MaybePromise,
  StoredItem,
} from './contracts/cache-handle.js'
import {
  FactoryUndefinedError,
  ItemCorruptError,
  NotSupportedError,
  UpdateConflictError,
  UpdateMissingError,
} from './errors.js'
import { newItem, updatedItem } from './expiration.js'
import { isStale } from './grace.js'
import { guard } from './layer.js'
import type { FenceTicket } from './invalidation-fence.js'
import { newVersion } from './item-version.js'
import { keyId } from './single-flight.js'
import { type Encoded, MISS } from './item-codec.js'
import { type SyncEngine, UNJUDGED } from './sync-engine.js'
import type { WriteFanout } from './write-fanout.js'
import type { CacheEmitter } from './events.js'
import { TaggedValue } from './tags.js'

/** {@link WriteLoops} `#afterLostAdd`: the key went away between our add and our read; add again. */
const RETRY: unique symbol = Symbol('retry')

/** Why an update did not happen. */
export type UpdateFailure = 'missing' | 'conflict' | 'factory-returned-undefined'

/** Result of `tryUpdate`. */
export type UpdateResult<V> =
  | { readonly ok: true; readonly value: V }
  | { readonly ok: false; readonly reason: UpdateFailure }

/** Bottom-only writes of one manager. */
export class WriteLoops {
  readonly #engine: SyncEngine
  readonly #fanout: WriteFanout
  readonly #emitter: CacheEmitter

  constructor(engine: SyncEngine, fanout: WriteFanout, emitter: CacheEmitter) {
    this.#engine = engine
    this.#fanout = fanout
    this.#emitter = emitter
  }

  /** Adds on the bottom if absent; on success evicts the levels above and announces. */
  async add(
    key: string,
    region: string | undefined,
    encoded: Encoded,
    expiration: Expiration,
    grace = 0,
  ): Promise<boolean> {
    const bottom = this.#engine.bottom
    const now = Date.now()
    const input = this.#engine.itemFor(bottom, encoded, newItem(undefined, expiration, now, grace), now)!
    let added = await this.#write(key, region, 'add', (h) => h.add(key, region, input))
    // A stale item (past its expiry, kept for its grace) does not make the key present.
    if (!added) added = await this.#replaceIfStale(key, region, input)
    if (!added) return false
    bottom.stats.adds++
    await this.#fanout.afterBottomWrite(key, region, 'add')
    return true
  }

  /**
   * A background result (an eager refresh, a factory that finished after its timeout) written
   * over the item its run started from: compare-and-set on `base`, that item's version, or an
   * add where the run started from nothing or the item is gone. Another write meanwhile wins:
   * the result is dropped (false). On a bottom without compare-and-set, a plain `set`.
   */
  async replace(
    key: string,
    region: string | undefined,
    encoded: Encoded,
    expiration: Expiration,
    grace: number,
    base: number | undefined,
  ): Promise<boolean> {
    const engine = this.#engine
    const bottom = engine.bottom
    if (!bottom.capabilities.cas) {
      await this.#fanout.set(key, region, encoded, expiration, grace)
      return true
    }
    if (base === undefined) return this.add(key, region, encoded, expiration, grace)
    const now = Date.now()
    const input = engine.itemFor(bottom, encoded, newItem(undefined, expiration, now, grace), now)
    if (input === undefined) return false // a lifetime already over (adaptive expiration)
    const outcome = await this.#write(key, region, 'update', (h) => h.update(key, region, base, input))
    if (outcome.status === 'missing') return this.add(key, region, encoded, expiration, grace)
    if (outcome.status === 'conflict') return false
    bottom.stats.sets++
    await this.#fanout.afterBottomWrite(key, region, 'set')
    return true
  }

  /**
   * After a refused add: when the bottom holds only a stale item (or a corrupt one), replace it with `input`
   * (compare-and-set on its version, so a concurrent writer still wins; a plain set on a
   * handle without CAS). True when written.
   */
  async #replaceIfStale(
    key: string,
    region: string | undefined,
    input: ItemInput<unknown>,
  ): Promise<boolean> {
    const bottom = this.#engine.bottom
    // A few rounds: an item left unjudged (its stamps forgotten meanwhile) is read again.
    for (let round = 0; round < 3; round++) {
      let stored: StoredItem<unknown> | undefined
      try {
        stored = await guard(this.#emitter, bottom, 'add', (h) => h.get(key, region))
      } catch (error) {
        if (!(error instanceof ItemCorruptError)) throw error
        // Bytes that are not an item (reported; see stored-item.ts) read as absent: the add replaces them.
        await this.#write(key, region, 'add', (h) => h.set(key, region, input))
        return true
      }
      if (stored === undefined) return false
      if (!isStale(stored, Date.now())) {
        // A tag-invalidated item is as absent as a stale one, and so is one that does not decode.
        const judged = await this.#judge(stored)
        if (judged === UNJUDGED) continue
        if (judged !== MISS) return false
      }
      return this.#replaceStale(key, region, stored, input)
    }
    return false // never judged: the item may be valid, and is kept
  }

  /** Replaces the stale `stored` on the bottom with `input` (see {@link #replaceIfStale}). */
  async #replaceStale(
    key: string,
    region: string | undefined,
    stored: StoredItem<unknown>,
    input: ItemInput<unknown>,
  ): Promise<boolean> {
    const bottom = this.#engine.bottom
    if (!bottom.capabilities.cas) {
      await this.#write(key, region, 'add', (h) => h.set(key, region, input))
      return true
    }
    const outcome = await this.#write(key, region, 'add', (h) => h.update(key, region, stored.version, input))
    return outcome.status === 'ok'
  }

  /**
   * The CAS loop: read the bottom, apply `fn`, write with the version read; on a
   * conflict start again, at most `maxRetries` more times.
   */
  async update<V>(
    key: string,
    region: string | undefined,
    fn: (value: V) => V | Promise<V>,
    expiration: Expiration | undefined,
    maxRetries: number,
    grace?: number,
  ): Promise<UpdateResult<V>> {
    const engine = this.#engine
    const bottom = engine.bottom
    if (!bottom.capabilities.cas) {
      throw new NotSupportedError(
        `update needs compare-and-set; the bottom handle '${bottom.name}' has no cas`,
        {
          source: bottom.name,
        },
      )
    }
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      const stored = await guard(this.#emitter, bottom, 'update', (h) => h.get(key, region))
      if (stored === undefined) return { ok: false, reason: 'missing' }
      const payload = bottom.bytes ? engine.decode(bottom, stored) : stored.value
      const current = payload instanceof TaggedValue ? await engine.judge(payload) : payload
      // The stamps were forgotten while judging (a clear, a gap): read the item again.
      if (current === UNJUDGED) continue
      // A corrupt or tag-invalidated source item cannot be updated: to the caller it is absent.
      if (current === MISS) return { ok: false, reason: 'missing' }
      const next = await fn(current as V)
      if (next === undefined) return { ok: false, reason: 'factory-returned-undefined' }
      // The new value keeps the item's tags and marks: it is derived from the old value, so an
      // invalidation of those tags since the read must drop it too.
      const encoded =
        payload instanceof TaggedValue
          ? engine.codec.encodeTagged(next, payload.tags, payload.marks)
          : engine.codec.encode(next)
      const now = Date.now()
      const base = updatedItem(undefined, stored, expiration, now, grace)
      const input = engine.itemFor(bottom, encoded, base, now)
      if (input === undefined) return { ok: false, reason: 'missing' } // its lifetime ended meanwhile
      const outcome = await this.#write(key, region, 'update', (h) =>
        h.update(key, region, stored.version, input),
      )
      if (outcome.status === 'missing') return { ok: false, reason: 'missing' }
      if (outcome.status === 'ok') {
        bottom.stats.sets++
        await this.#fanout.afterBottomWrite(key, region, 'update')
        return { ok: true, value: next }
      }
    }
    return { ok: false, reason: 'conflict' }
  }

  /** Adds `value` if absent, otherwise updates with `fn`; retries when the item vanishes in between. */
  async addOrUpdate<V>(
    key: string,
    region: string | undefined,
    encoded: Encoded,
    fn: (value: V) => V | Promise<V>,
    expiration: Expiration,
    maxRetries: number,
    grace = 0,
  ): Promise<UpdateResult<V>> {
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (await this.add(key, region, encoded, expiration, grace))
        return { ok: true, value: encoded.value as V }
      const result = await this.update(key, region, fn, undefined, maxRetries - attempt)
      if (result.ok || result.reason !== 'missing') return result
    }
    return { ok: false, reason: 'conflict' }
  }

  /**
   * getOrAdd after a miss: add the factory's value on the bottom; if another writer won,
   * return what the bottom holds so every caller everywhere agrees on one value. The
   * winner replaces whatever the levels above hold ({@link #installAbove}).
   * When the bottom cannot be written or read, the factory's value is returned unwritten
   * (reads fall back; the failure was reported as an `error` event).
   */
  async addOrGet(
    key: string,
    region: string | undefined,
    encoded: Encoded,
    expiration: Expiration,
    grace = 0,
  ): Promise<unknown> {
    const engine = this.#engine
    const bottom = engine.bottom
    const now = Date.now()
    // The version is drawn here, so the copies above carry the bottom's (an eager refresh
    // compares it with the bottom's: see `replace`).
    const base = newItem(undefined, expiration, now, grace)
    const input = engine.itemFor(bottom, encoded, base, now, newVersion())
    if (input === undefined) return encoded.value // a lifetime already over (adaptive expiration): nothing to store
    for (let round = 0; round < 3; round++) {
      const ticket = engine.fence.enter(keyId(key, region))
      try {
        let added: boolean
        try {
          added = await this.#write(key, region, 'add', (h) => h.add(key, region, input))
        } catch {
          return encoded.value // left unsettled by #write: the add may have landed
        }
        if (added) {
          bottom.stats.adds++
          await this.#installAbove(key, region, input, encoded.held, ticket)
          engine.changed(key, region, 'add')
          return encoded.value
        }
        const settled = await this.#afterLostAdd(key, region, encoded, input, expiration, grace, ticket)
        if (settled !== RETRY) return settled
      } finally {
        engine.fence.leave(ticket)
      }
    }
    return encoded.value
  }

  /**
   * getOrAdd when the key changed while its factory ran (see `fail-safe-loader.ts`): the
   * factory's `value` is not written. A valid value the bottom holds now is returned instead
   * (the winner of a racing getOrAdd, a newer write), so every caller agrees with the writer
   * that changed the key; otherwise (removed, stale, unreadable) the factory's value, unwritten.
   */
  async readOrKeep(key: string, region: string | undefined, value: unknown): Promise<unknown> {
    const bottom = this.#engine.bottom
    let stored: StoredItem<unknown> | undefined
    try {
      stored = await guard(this.#emitter, bottom, 'get', (h) => h.get(key, region))
    } catch {
      return value // reported; the caller still gets the factory's value
    }
    if (stored === undefined || isStale(stored, Date.now())) return value
    const judged = await this.#judge(stored).catch(() => MISS)
    return judged === MISS || judged === UNJUDGED ? value : judged
  }

  /**
   * {@link addOrGet} after our add lost: the bottom's item decides. Returns the value for the
   * callers, or {@link RETRY} when the key went away meanwhile (the add is tried again).
   */
  async #afterLostAdd(
    key: string,
    region: string | undefined,
    encoded: Encoded,
    input: ItemInput<unknown>,
    expiration: Expiration,
    grace: number,
    ticket: FenceTicket,
  ): Promise<unknown> {
    const engine = this.#engine
    const bottom = engine.bottom
    let stored: Awaited<ReturnType<typeof bottom.handle.get>>
    try {
      stored = await guard(this.#emitter, bottom, 'get', (h) => h.get(key, region))
    } catch (error) {
      // The key is taken by bytes that are not an item (reported; see stored-item.ts): replace them.
      if (error instanceof ItemCorruptError) await this.#fanout.set(key, region, encoded, expiration, grace)
      return encoded.value
    }
    if (stored === undefined) return RETRY // removed or expired between our add and our read: try again
    const payload = bottom.bytes ? engine.decode(bottom, stored) : stored.value
    const stale = isStale(stored, Date.now())
    let value = payload
    if (!stale && payload instanceof TaggedValue) {
      try {
        value = await engine.judge(payload)
      } catch {
        return encoded.value // its stamps cannot be read (reported): as when the item cannot be read
      }
      // No verdict (the stamps were forgotten while judging: a clear or a gap heard meanwhile):
      // replacing a valid item would lose its write (found by the model-based tests).
      if (value === UNJUDGED) return RETRY
    }
    // A stale or tag-invalidated item does not make the key present.
    if (stale || (value === MISS && payload instanceof TaggedValue)) {
      // Only a stale item was there: replace it (CAS), then go on as the add's winner.
      if (!(await this.#replaceStale(key, region, stored, input).catch(() => undefined))) return RETRY
      bottom.stats.sets++
      await this.#installAbove(key, region, input, encoded.held, ticket)
      engine.changed(key, region, 'set')
      return encoded.value
    }
    if (value === MISS) {
      // The winner's bytes are corrupt (reported): replace them with our value.
      await this.#fanout.set(key, region, encoded, expiration, grace)
      return encoded.value
    }
    await this.#installAbove(key, region, stored, payload, ticket)
    return value
  }

  /**
   * A write of the bottom under `guard` (`operation` names it in errors and events). A failed
   * write may still have landed (a lost reply): the key is left unsettled
   * (`WriteFanout.unsettled`) before the failure goes on.
   */
  async #write<T>(
    key: string,
    region: string | undefined,
    operation: 'add' | 'update',
    call: (handle: CacheHandle<unknown>) => MaybePromise<T>,
  ): Promise<T> {
    try {
      return await guard(this.#emitter, this.#engine.bottom, operation, call)
    } catch (error) {
      await this.#fanout.unsettled(key, region, operation, error)
      throw error
    }
  }

  /** `stored` (a bottom item) judged by {@link SyncEngine.judge}: its value, MISS or UNJUDGED. */
  async #judge(stored: StoredItem<unknown>): Promise<unknown> {
    const engine = this.#engine
    const payload = engine.bottom.bytes ? engine.decode(engine.bottom, stored) : stored.value
    return payload instanceof TaggedValue ? engine.judge(payload) : payload
  }

  /**
   * Puts what the bottom holds into the levels above: evicts them first, since they may hold
   * an older value that `add` would not replace (one this instance wrote before a clear or
   * remove it has not heard of yet: found by the model-based tests), then copies the item up
   * under the fence like any lower read.
   */
  async #installAbove(
    key: string,
    region: string | undefined,
    item: ItemInput<unknown>,
    value: unknown,
    ticket: FenceTicket,
  ): Promise<void> {
    await this.#fanout.evictAbove(key, region)
    await this.#engine.copyUp(this.#engine.bottom.index, key, region, item, value, ticket)
  }
}

/** The value of a successful update; the typed error of a failed one. */
export function unwrapUpdate<V>(key: string, result: UpdateResult<V>): V {
  if (result.ok) return result.value
  if (result.reason === 'missing') throw new UpdateMissingError(`no item '${key}' to update`)
  if (result.reason === 'conflict')
    throw new UpdateConflictError(`'${key}' kept changing; update retries exhausted`)
  throw new FactoryUndefinedError(`the update function returned undefined for '${key}'`)
}
