/**
 * `setMany` and `removeMany`: the write fan-out of `write-fanout.ts` for many keys of one
 * region. Each level gets one call for all the keys (its `setMany`/`removeMany` when the
 * handle has them: one pipeline; key by key, concurrently, otherwise), and every key is
 * announced in the same turn, so the backplane bus sends them in one frame (or as few as
 * its frame size allows: the bus packs and splits).
 *
 * Per key, the rules of `set` hold: the bottom first, then the levels above with the
 * bottom's version, and the write fence: a ticket per key is taken before the bottom write,
 * and a key invalidated while the batch was in flight is evicted from the levels above
 * (from the first level where its ticket is found stale, up to the top) instead of written,
 * while the other keys are written. Keys are distinct (`bulk-input.ts` folds duplicates).
 *
 * On failure too: a failed bottom write may have landed for some keys (a pipeline cut
 * mid-way, a lost reply), so every key is evicted from the levels above and announced before
 * the call rejects, as `set` leaves its key unsettled (`WriteFanout.unsettled`): announcing
 * a change that did not happen only costs other instances a miss. Not when the circuit
 * refused the batch: it never left (`mayHaveLanded`). Each key is then probed until the
 * failed call can no longer land, and settled again (`WriteFanout.lateWrite`).
 */
import type { BulkEntry, Expiration, ItemInput, MaybePromise } from './contracts/cache-handle.js'
import type { CacheplaneError } from './errors.js'
import type { CacheEmitter } from './events.js'
import type { FenceTicket } from './invalidation-fence.js'
import type { Encoded } from './item-codec.js'
import { circuitRefusal, type Layer, layerFailed, layerSucceeded } from './layer.js'
import { keyId } from './single-flight.js'
import { mayHaveLanded } from './late-writes.js'
import type { SyncEngine } from './sync-engine.js'
import { setItem, type WriteFanout } from './write-fanout.js'

/** One `setMany` in flight. */
interface SetBatch {
  readonly keys: readonly string[]
  readonly encoded: readonly Encoded[]
  readonly region: string | undefined
  readonly expiration: Expiration
  readonly grace: number
  readonly now: number
  /** Per key, undefined for a fully synchronous stack (nothing can interleave). */
  readonly tickets: FenceTicket[] | undefined
  /** `evicted[i]`: key i's ticket went stale; it is removed, not written, from there up. */
  readonly evicted: boolean[]
}

/** The bulk write paths of one manager. */
export class BulkWrites {
  readonly #engine: SyncEngine
  readonly #fanout: WriteFanout
  readonly #emitter: CacheEmitter

  constructor(engine: SyncEngine, fanout: WriteFanout, emitter: CacheEmitter) {
    this.#engine = engine
    this.#fanout = fanout
    this.#emitter = emitter
  }

  /** Writes the (distinct, checked, encoded) keys on every level, bottom first, then announces them. */
  async setMany(
    keys: readonly string[],
    encoded: readonly Encoded[],
    region: string | undefined,
    expiration: Expiration,
    grace: number,
  ): Promise<void> {
    if (keys.length === 0) return
    const engine = this.#engine
    const tickets = engine.allSync ? undefined : keys.map((key) => engine.fence.enter(keyId(key, region)))
    const evicted = keys.map(() => false)
    const batch: SetBatch = { keys, encoded, region, expiration, grace, now: Date.now(), tickets, evicted }
    let failure: CacheplaneError | undefined
    try {
      const bottom = engine.bottom
      let versions: readonly number[]
      try {
        versions = await this.#setOn(bottom, keys, region, this.#items(batch, bottom, undefined))
      } catch (error) {
        if (mayHaveLanded(bottom, error, true)) await this.#evictAll(keys, region)
        throw error
      }
      bottom.stats.sets += keys.length
      failure = await this.#setAbove(batch, versions)
    } finally {
      if (tickets !== undefined) for (const ticket of tickets) engine.fence.leave(ticket)
    }
    for (const key of keys) engine.changed(key, region, 'set')
    if (failure !== undefined) throw failure
  }

  /** Writes the levels above the bottom, top-most last, as `set` does per key; returns the first failure. */
  async #setAbove(batch: SetBatch, versions: readonly number[]): Promise<CacheplaneError | undefined> {
    const engine = this.#engine
    const { keys, region, tickets, evicted } = batch
    let failure: CacheplaneError | undefined
    for (let j = engine.bottom.index - 1; j >= 0; j--) {
      const layer = engine.layers[j]!
      if (layer.local && !engine.localTrusted) {
        // Bypassing local layers: an old copy must not survive, a new one must not be written.
        await this.#removeQuietly(layer, keys, region)
        continue
      }
      const write: number[] = []
      const drop: string[] = []
      for (let i = 0; i < keys.length; i++) {
        if (!evicted[i] && tickets !== undefined && !engine.fence.isCurrent(tickets[i]!)) evicted[i] = true
        if (evicted[i]) drop.push(keys[i]!)
        else write.push(i)
      }
      if (drop.length !== 0) await this.#removeQuietly(layer, drop, region)
      failure = (await this.#writeLevel(batch, layer, write, versions)) ?? failure
    }
    // An asynchronous upper level's write may have landed after an invalidation.
    if (tickets !== undefined) {
      const late = keys.filter((_, i) => !evicted[i] && !engine.fence.isCurrent(tickets[i]!))
      if (late.length !== 0) await this.#evictAbove(late, region)
    }
    return failure
  }

  /** Writes the keys at `write` on one level above the bottom; on failure drops them there (returns the failure). */
  async #writeLevel(
    batch: SetBatch,
    layer: Layer,
    write: readonly number[],
    versions: readonly number[],
  ): Promise<CacheplaneError | undefined> {
    const keys: string[] = []
    const items: ItemInput<unknown>[] = []
    for (const i of write) {
      const item = setItem(layer, batch.encoded[i]!, batch.expiration, batch.now, versions[i], batch.grace)
      if (item === undefined) continue
      keys.push(batch.keys[i]!)
      items.push(item)
    }
    if (keys.length === 0) return undefined
    try {
      await this.#setOn(layer, keys, batch.region, items)
      layer.stats.sets += keys.length
      return undefined
    } catch (error) {
      // The level may still hold the old values: drop them so they cannot be served.
      await this.#removeQuietly(layer, keys, batch.region)
      return error as CacheplaneError
    }
  }

  /** Removes the (distinct, checked) keys from every level, bottom first, then announces them. */
  async removeMany(keys: readonly string[], region: string | undefined): Promise<void> {
    if (keys.length === 0) return
    const engine = this.#engine
    let failure: CacheplaneError | undefined
    for (let j = engine.bottom.index; j >= 0; j--) {
      const layer = engine.layers[j]!
      try {
        layer.stats.removes += await this.#removeOn(layer, keys, region)
      } catch (error) {
        failure ??= error as CacheplaneError
        if (j === engine.bottom.index && mayHaveLanded(layer, error, true))
          for (const key of keys) this.#fanout.lateWrite(key, region, 'remove')
      }
    }
    const listened = this.#emitter.has('remove')
    for (const key of keys) {
      engine.fence.invalidate(keyId(key, region))
      engine.announcer?.announce({ type: 'removed', key, region })
      if (listened) this.#emitter.emit('remove', { key, region, origin: 'local' })
    }
    if (failure !== undefined) throw failure
  }

  /** The items of every key of the batch for `layer` (the bottom: lifetimes are never over there). */
  #items(batch: SetBatch, layer: Layer, versions: readonly number[] | undefined): ItemInput<unknown>[] {
    const { encoded, expiration, now, grace } = batch
    return batch.keys.map((_, i) => setItem(layer, encoded[i]!, expiration, now, versions?.[i], grace)!)
  }

  /** After a failed bottom write: nothing above may keep an old value, and other instances drop theirs. */
  async #evictAll(keys: readonly string[], region: string | undefined): Promise<void> {
    const engine = this.#engine
    for (const key of keys) {
      engine.fence.invalidate(keyId(key, region)) // first: a read in flight must not copy up after the eviction
      engine.announce(key, region, 'set')
      this.#fanout.lateWrite(key, region, 'set')
    }
    await this.#evictAbove(keys, region)
  }

  /** Drops the keys from every level above the bottom without failing (errors are reported). */
  async #evictAbove(keys: readonly string[], region: string | undefined): Promise<void> {
    for (let j = this.#engine.bottom.index - 1; j >= 0; j--) {
      await this.#removeQuietly(this.#engine.layers[j]!, keys, region)
    }
  }

  /** Removes the keys from one level, reporting a failure instead of throwing it. */
  async #removeQuietly(layer: Layer, keys: readonly string[], region: string | undefined): Promise<void> {
    try {
      layer.stats.removes += await this.#removeOn(layer, keys, region)
    } catch {
      // Reported by #removeOn; the write goes on.
    }
  }

  /** One level's `setMany` (or `set` per key, concurrently) under the error policy; the versions stored. */
  #setOn(
    layer: Layer,
    keys: readonly string[],
    region: string | undefined,
    items: readonly ItemInput<unknown>[],
  ): Promise<readonly number[]> {
    const handle = layer.handle
    const many = handle.setMany
    return this.#call(layer, 'setMany', () => {
      if (many !== undefined) {
        const entries: BulkEntry<unknown>[] = keys.map((key, i) => ({ key, item: items[i]! }))
        return many.call(handle, entries, region)
      }
      const each = keys.map((key, i) => handle.set(key, region, items[i]!))
      return layer.sync ? (each as number[]) : settled(each)
    })
  }

  /** One level's `removeMany` (or `remove` per key, concurrently) under the error policy; how many were removed. */
  #removeOn(layer: Layer, keys: readonly string[], region: string | undefined): Promise<number> {
    const handle = layer.handle
    const many = handle.removeMany
    return this.#call(layer, 'removeMany', () => {
      if (many !== undefined) return many.call(handle, keys, region)
      const each = keys.map((key) => handle.remove(key, region))
      const count = (removed: readonly boolean[]) => removed.filter(Boolean).length
      return layer.sync ? count(each as boolean[]) : settled(each).then(count)
    })
  }

  /** `guard` for a bulk call: circuit check, success recorded, raw errors wrapped, counted and reported. */
  async #call<T>(layer: Layer, operation: string, run: () => MaybePromise<T>): Promise<T> {
    const refused = circuitRefusal(this.#emitter, layer, operation)
    if (refused !== undefined) throw refused
    try {
      const result = await run()
      layerSucceeded(layer)
      return result
    } catch (raw) {
      throw layerFailed(this.#emitter, layer, operation, raw)
    }
  }
}

/**
 * The results of a batch sent key by key, once every call has settled; the first failure
 * otherwise. Not `Promise.all`: rejecting at the first failure lets the batch be announced
 * while other calls are still in flight, and one landing after the announcement leaves the
 * other instances with what it replaced (found by the model-based tests: a remove landed
 * after its announcement, and an instance kept serving the value it removed).
 */
async function settled<T>(calls: readonly MaybePromise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(calls)
  const values: T[] = []
  for (const result of results) {
    if (result.status === 'rejected') throw result.reason
    values.push(result.value)
  }
  return values
}
