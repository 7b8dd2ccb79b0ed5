/**
 * The reference model of the shared store: what every key holds after each change the
 * store applied, in the store's order, and the invariants checked at the moment a change
 * is applied:
 * - CAS: a successful `update` replaced exactly the value its new value was computed from
 *   (the value names its origin: `u7<s3` is operation 7's update of the value `s3`);
 * - add: succeeds only on an absent (or expired) key, so at most one writer per absent key;
 * - versions: a version the store assigns to a key was never assigned to another value of
 *   that key before (a repeated version lets a stale CAS match a new item: ABA);
 * - reads: the store returns what the model says it holds (a handle that caches store
 *   state, such as Memcached's generations, must not return a cleared item).
 */
import { type Slot, SLOTS, slotsIn } from './history.js'
import type { Recorder } from './record.js'

/** What a key holds in the model. */
interface Held {
  readonly value: string
  readonly version: number
  readonly expiresAt: number
  /** Kept this long past its expiry, ms: stale, for the stale paths only (absent to the rest). */
  readonly grace: number
}

/** An item's lifetime as the store keeps it (an `ItemInput` is one). */
interface Lifetime {
  readonly mode: string
  readonly ttl: number
  /** Epoch ms; 0 = never. */
  readonly expiresAt: number
  /** Kept this long past its expiry, ms. */
  readonly grace?: number | undefined
}

/** The operation id a value was written by (`s3`, `u7<s3` -> 7) and the value it was computed from. */
export function origin(value: string): { id: string; from: string | undefined } {
  const at = value.indexOf('<')
  return at < 0 ? { id: value, from: undefined } : { id: value.slice(0, at), from: value.slice(at + 1) }
}

/** The model of the shared store. */
export class StoreModel {
  readonly #held = new Map<Slot, Held>()
  readonly #versions = new Map<Slot, Map<number, string>>()
  /** The tag's stamp in the store (0: never invalidated). */
  #stamp = 0
  readonly #record: Recorder

  constructor(record: Recorder) {
    this.#record = record
  }

  /** What `slot` holds now, unless it expired and its grace ended (a stale item is still held). */
  live(slot: Slot): Held | undefined {
    const held = this.#held.get(slot)
    if (held === undefined) return undefined
    if (held.expiresAt !== 0 && Date.now() >= held.expiresAt + held.grace) return undefined
    return held
  }

  /** A successful `set`. */
  set(
    instance: number,
    opId: number | undefined,
    slot: Slot,
    value: string,
    version: number,
    life: Lifetime,
  ) {
    this.#write(slot, value, version, life)
    this.#record.mutate({ instance, opId, kind: 'set', slot, value, ...lifeOf(life) })
  }

  /** An `add`; `version` is read back after a successful one. */
  add(instance: number, slot: Slot, value: string, added: boolean) {
    const present = this.live(slot)
    if (added && present !== undefined) {
      this.#record.violate('add', `i${instance} added ${value} to ${slot}, which held ${present.value}`)
    }
    if (!added && present === undefined) {
      this.#record.violate('add', `i${instance}'s add of ${value} to absent ${slot} was refused`)
    }
    return added
  }

  /** After a successful add: the item's version, as the store reports it. */
  added(
    instance: number,
    opId: number | undefined,
    slot: Slot,
    value: string,
    version: number,
    life: Lifetime,
  ) {
    this.#write(slot, value, version, life)
    this.#record.mutate({ instance, opId, kind: 'add', slot, value, ...lifeOf(life) })
  }

  /** A successful CAS: the value replaced must be the one the new value was computed from. */
  updated(
    instance: number,
    opId: number | undefined,
    slot: Slot,
    value: string,
    version: number,
    life: Lifetime,
  ) {
    const replaced = this.live(slot)
    const { from } = origin(value)
    if (replaced === undefined) {
      this.#record.violate('cas', `i${instance}'s update wrote ${value} to ${slot}, which held nothing`)
    } else if (from === undefined && this.#record.marks.get(replaced.value) !== this.#stamp) {
      // An add or getOrAdd replacing a tag-invalidated item (its mark is not the store's
      // stamp: CAS on its version): allowed.
    } else if (from === undefined && replaced.expiresAt !== 0 && Date.now() >= replaced.expiresAt) {
      // An add or getOrAdd replacing a stale item (past its expiry, kept for its grace): allowed.
    } else if (from !== origin(replaced.value).id) {
      this.#record.violate(
        'cas',
        `lost update: i${instance}'s update ${value} (computed from ${from}) replaced ${replaced.value} in ${slot}`,
      )
    }
    this.#write(slot, value, version, life)
    this.#record.mutate({ instance, opId, kind: 'update', slot, value, ...lifeOf(life) })
  }

  /** A `remove` (whether or not the key existed). */
  removed(instance: number, opId: number | undefined, slot: Slot) {
    this.#held.delete(slot)
    this.#record.mutate({ instance, opId, kind: 'remove', slot })
  }

  /** A read or touch of a sliding item that extended it to `expiresAt` (recorded as an expire). */
  slid(instance: number, opId: number | undefined, slot: Slot, expiresAt: number) {
    this.expired(instance, opId, slot, expiresAt)
  }

  /** An `expire` that found the item. */
  expired(instance: number, opId: number | undefined, slot: Slot, expiresAt: number) {
    const held = this.live(slot)
    if (held !== undefined) this.#held.set(slot, { ...held, expiresAt })
    this.#record.mutate({ instance, opId, kind: 'expire', slot, expiresAt })
  }

  /** A new tag stamp: every value held now is invalidated (every write carries the one tag). */
  tagInvalidated(instance: number, opId: number | undefined, stamp: number) {
    this.#stamp = stamp
    this.#record.stamps.push({ stamp, t: this.#record.now })
    for (const slot of SLOTS) this.#record.mutate({ instance, opId, kind: 'remove', slot, byTag: true })
  }

  /** The mark a value was written with. */
  marked(value: string, mark: number) {
    this.#record.marks.set(value, mark)
  }

  /**
   * What a plain `get` of `slot` must return now that nothing is in flight: the value held,
   * unless it expired (a stale item is for the stale paths only) or its tag was invalidated
   * after its writer read the stamp (its mark is not the store's stamp).
   */
  settled(slot: Slot): string | undefined {
    const held = this.#held.get(slot)
    if (held === undefined || (held.expiresAt !== 0 && Date.now() >= held.expiresAt)) return undefined
    const mark = this.#record.marks.get(held.value)
    return mark === undefined || mark === this.#stamp ? held.value : undefined
  }

  /** A `clear` (region undefined) or `clearRegion`. */
  cleared(instance: number, opId: number | undefined, region: string | undefined, all: boolean) {
    if (all) this.#stamp = 0 // the stamp item went with everything else
    for (const slot of all ? SLOTS : slotsIn(region)) {
      this.#held.delete(slot)
      this.#record.mutate({ instance, opId, kind: 'clear', slot })
    }
  }

  /** A `get` answered with `value` (undefined: a miss): it must be what the model holds. */
  read(instance: number, slot: Slot, value: string | undefined) {
    const held = this.live(slot)?.value
    if (held !== value) {
      this.#record.violate(
        'store-read',
        `i${instance}'s store read of ${slot} returned ${value ?? 'nothing'}, the store holds ${held ?? 'nothing'}`,
      )
    }
  }

  /** `version` NaN: not known (an added item that expired before it could be read back). */
  #write(slot: Slot, value: string, version: number, life: Lifetime) {
    const { expiresAt, grace } = lifeOf(life)
    this.#held.set(slot, { value, version, expiresAt, grace })
    if (Number.isNaN(version)) return
    let versions = this.#versions.get(slot)
    if (versions === undefined) {
      versions = new Map()
      this.#versions.set(slot, versions)
    }
    const before = versions.get(version)
    if (before !== undefined && before !== value) {
      this.#record.violate('versions', `${slot} got version ${version} again (${before}, then ${value})`)
    }
    versions.set(version, value)
  }
}

/** Expiry, grace (0 when none) and sliding TTL (0 when not sliding) of a lifetime. */
function lifeOf(life: Lifetime): { expiresAt: number; grace: number; slidingTtl: number } {
  const slidingTtl = life.mode === 'sliding' ? life.ttl : 0
  return { expiresAt: life.expiresAt, grace: life.grace ?? 0, slidingTtl }
}
