/**
 * `getMany`: the read walk of `sync-engine.ts` for many keys of one region at once. Each
 * level is asked once, for the keys still missing after the levels above it (through the
 * handle's `getMany` when it has one: one MGET, one multi-get; key by key otherwise), so N
 * keys cost one round trip per level instead of N.
 *
 * Per key, everything is as for `get`: a synchronous top is read with `peekTop` (stats,
 * `get` events, a sliding item touched below), a fence ticket is taken per key before the
 * first lower read and a hit at level i > 0 is copied up with the engine's own `copyUp`
 * under that key's ticket (so a key invalidated while the batch was in flight is returned
 * but not copied up, while the other keys of the batch are), logically expired items are
 * misses that `allowStale` may serve after the walk, and local levels are skipped while
 * the backplane is not live.
 *
 * A handle's `getMany` that throws ItemCorruptError (one item of the batch does not
 * decode) is retried key by key, so the corrupt item is reported and missed alone
 * instead of turning the whole batch into misses.
 */
import { distinctKeys, spreadValues } from './bulk-input.js'
import type { StoredItem } from './contracts/cache-handle.js'
import { ItemCorruptError } from './errors.js'
import type { CacheEmitter } from './events.js'
import { isStale, newProbe, type ReadProbe } from './grace.js'
import type { FenceTicket } from './invalidation-fence.js'
import { MISS } from './item-codec.js'
import { circuitRefusal, type Layer, layerFailed, layerSucceeded } from './layer.js'
import { keyId } from './single-flight.js'
import type { FactoryStats } from './stats.js'
import type { SyncEngine } from './sync-engine.js'
import { TaggedValue } from './tags.js'

type Items = ReadonlyArray<StoredItem<unknown> | undefined>

/** One `getMany` in flight: its distinct keys, their answers so far and their fence tickets. */
interface Batch {
  readonly keys: readonly string[]
  readonly region: string | undefined
  /** `values[i]`: the value found for `keys[i]`, or {@link MISS}. */
  readonly values: unknown[]
  readonly tickets: FenceTicket[]
  /** One per key with `allowStale`: the first graced item passed, for after the walk. */
  readonly probes: ReadProbe[] | undefined
  /** The tag stamps' epoch when the batch started: a tagged item is judged as `get` judges it. */
  readonly stampEpoch: number
}

/** The bulk read path of one manager. */
export class BulkReads {
  readonly #engine: SyncEngine
  readonly #emitter: CacheEmitter
  readonly #stats: FactoryStats

  constructor(engine: SyncEngine, emitter: CacheEmitter, stats: FactoryStats) {
    this.#engine = engine
    this.#emitter = emitter
    this.#stats = stats
  }

  /** The values of `keys` (checked) in their order, undefined for a miss; duplicates are read once. */
  async getMany(
    keys: readonly string[],
    region: string | undefined,
    allowStale: boolean,
  ): Promise<unknown[]> {
    if (keys.length === 0) return []
    const distinct = distinctKeys(keys)
    const values = await this.#read(distinct.keys, region, allowStale)
    return spreadValues(distinct, values)
  }

  async #read(keys: readonly string[], region: string | undefined, allowStale: boolean): Promise<unknown[]> {
    const engine = this.#engine
    const values = new Array<unknown>(keys.length).fill(MISS)
    let missing: number[] = []
    let start = engine.readFrom
    // A top hit is fresh: as in `get`, only `allowStale` reads the top again through the walk.
    if (!allowStale && engine.fastTop) {
      for (let i = 0; i < keys.length; i++) {
        const value = engine.peekTop(keys[i]!, region)
        if (value === MISS) missing.push(i)
        else values[i] = value
      }
      start = Math.max(start, engine.afterPeek)
    } else {
      missing = keys.map((_, i) => i)
    }
    if (missing.length === 0) return values
    const tickets = new Array<FenceTicket>(keys.length)
    for (const i of missing) tickets[i] = engine.fence.enter(keyId(keys[i]!, region))
    const probes = allowStale ? keys.map(() => newProbe()) : undefined
    const stampEpoch = engine.stamps.epoch
    const batch: Batch = { keys, region, values, tickets, probes, stampEpoch }
    try {
      for (let level = start; level < engine.layers.length && missing.length !== 0; level++) {
        missing = await this.#readLevel(batch, level, missing)
      }
    } finally {
      for (const ticket of tickets) if (ticket !== undefined) engine.fence.leave(ticket)
    }
    this.#finishMisses(batch, missing)
    return values.map((value) => (value === MISS ? undefined : value))
  }

  /** Asks level `level` for the keys at `missing`; records the hits, copies them up; returns the keys still missing. */
  async #readLevel(batch: Batch, level: number, missing: number[]): Promise<number[]> {
    const engine = this.#engine
    const layer = engine.layers[level]!
    const items = await this.#fetch(layer, batch, missing)
    const still: number[] = []
    const copies: Promise<void>[] = []
    const now = Date.now()
    for (let m = 0; m < missing.length; m++) {
      const i = missing[m]!
      const stored = items?.[m]
      if (stored !== undefined && stored.grace !== undefined && isStale(stored, now)) {
        this.#engine.passStale(layer, stored, batch.probes?.[i])
        still.push(i)
        continue
      }
      const key = batch.keys[i]!
      const payload =
        stored === undefined ? MISS : layer.bytes ? engine.codec.decode(layer, stored) : stored.value
      // A tagged item is served only while its tags' stamps are the ones it was written under.
      const value =
        payload instanceof TaggedValue
          ? await engine.admit(layer, key, batch.region, payload, batch.stampEpoch)
          : payload
      if (stored === undefined || value === MISS) {
        layer.stats.misses++
        still.push(i)
        continue
      }
      layer.stats.hits++
      batch.values[i] = value
      if (level > 0) {
        const copying = engine.copyUp(level, key, batch.region, stored, payload, batch.tickets[i]!)
        if (copying !== undefined) copies.push(copying)
      }
      if (engine.getListened)
        this.#emitter.emit('get', { key, region: batch.region, level, handle: layer.name })
    }
    if (copies.length !== 0) await Promise.all(copies)
    return still
  }

  /**
   * The items of the keys at `missing` from one level, aligned with `missing`; undefined when
   * the level failed or its circuit refused (reported; every key falls through to the next level).
   */
  async #fetch(layer: Layer, batch: Batch, missing: readonly number[]): Promise<Items | undefined> {
    const keys = missing.map((i) => batch.keys[i]!)
    if (circuitRefusal(this.#emitter, layer, 'getMany') !== undefined) {
      this.#markFailed(batch, missing)
      return undefined
    }
    const many = layer.handle.getMany
    if (many === undefined) return this.#fetchEach(layer, batch, missing, keys)
    try {
      const result = many.call(layer.handle, keys, batch.region)
      const items = layer.sync ? (result as Items) : await result
      layerSucceeded(layer)
      return items
    } catch (raw) {
      if (raw instanceof ItemCorruptError) return this.#fetchEach(layer, batch, missing, keys)
      layerFailed(this.#emitter, layer, 'getMany', raw)
      this.#markFailed(batch, missing)
      return undefined
    }
  }

  /** {@link #fetch} key by key (a handle without `getMany`): a failing key is a miss of its own. */
  async #fetchEach(layer: Layer, batch: Batch, missing: readonly number[], keys: string[]): Promise<Items> {
    const items = keys.map((key, m) => {
      try {
        const result = layer.handle.get(key, batch.region)
        if (layer.sync) {
          layerSucceeded(layer)
          return result as StoredItem<unknown> | undefined
        }
        return Promise.resolve(result).then(
          (item) => {
            layerSucceeded(layer)
            return item
          },
          (raw: unknown) => this.#failedKey(layer, batch, missing[m]!, raw),
        )
      } catch (raw) {
        return this.#failedKey(layer, batch, missing[m]!, raw)
      }
    })
    return layer.sync ? (items as Items) : await Promise.all(items)
  }

  /** One key's read failed: reported (as `get` reports it), a miss at this level. */
  #failedKey(layer: Layer, batch: Batch, i: number, raw: unknown): undefined {
    layerFailed(this.#emitter, layer, 'get', raw)
    const probe = batch.probes?.[i]
    if (probe !== undefined) probe.failed = true
    return undefined
  }

  #markFailed(batch: Batch, missing: readonly number[]): void {
    if (batch.probes === undefined) return
    for (const i of missing) batch.probes[i]!.failed = true
  }

  /** Keys no level had: a `get` miss event each, and with `allowStale` their graced value. */
  #finishMisses(batch: Batch, missing: readonly number[]): void {
    const listened = this.#engine.getListened
    for (const i of missing) {
      if (listened)
        this.#emitter.emit('get', { key: batch.keys[i]!, region: batch.region, level: -1, handle: undefined })
      const stale = batch.probes?.[i]?.stale
      if (stale === undefined) continue
      batch.values[i] = stale.value
      this.#stats.staleReads++
    }
  }
}
