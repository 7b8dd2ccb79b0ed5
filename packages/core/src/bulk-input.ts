/**
 * Argument checks of the bulk operations (`getMany`, `setMany`, `removeMany`). A bulk call
 * is all or nothing at the door: every key (and value) is checked before any level is
 * called, so one bad key rejects the whole call with the typed error a single-key call
 * would get, and nothing has been written. Duplicate keys are folded here, once, so the
 * handles' bulk methods can rely on distinct keys (a Redis pipeline would otherwise write a
 * key twice, and the copy-ups of one read would race each other).
 */
import { InvalidKeyError, InvalidOptionsError } from './errors.js'
import { checkKey, checkRegion, checkValue } from './validation.js'

/** One entry of `CacheManager.setMany`. */
export interface SetManyEntry<V> {
  /** The key. */
  readonly key: string
  /** Its value (not undefined). */
  readonly value: V
}

/** Distinct keys of a bulk call, and where each key of the call sits among them. */
export interface DistinctKeys {
  /** The distinct keys, in order of first appearance. */
  readonly keys: readonly string[]
  /** `slots[i]`: index in {@link keys} of the call's i-th key; undefined when there were no duplicates. */
  readonly slots: readonly number[] | undefined
}

/** Checks a bulk read's or remove's keys and region (InvalidKeyError); returns the region. */
export function checkKeys(keys: unknown, region: unknown, operation: string): string | undefined {
  if (!Array.isArray(keys))
    throw new InvalidKeyError(`${operation} needs an array of keys, got ${typeof keys}`)
  for (const key of keys) checkKey(key)
  checkRegion(region)
  return region as string | undefined
}

/** `keys` without duplicates (first appearance kept), with the map back to the call's order. */
export function distinctKeys(keys: readonly string[]): DistinctKeys {
  if (new Set(keys).size === keys.length) return { keys, slots: undefined }
  const index = new Map<string, number>()
  const slots = new Array<number>(keys.length)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    let slot = index.get(key)
    if (slot === undefined) {
      slot = index.size
      index.set(key, slot)
    }
    slots[i] = slot
  }
  return { keys: [...index.keys()], slots }
}

/** The values of the distinct keys spread back to the call's keys (a duplicate gets the same value). */
export function spreadValues<T>(distinct: DistinctKeys, values: T[]): T[] {
  const slots = distinct.slots
  return slots === undefined ? values : slots.map((slot) => values[slot]!)
}

/**
 * Checks `setMany`'s entries (InvalidOptionsError for a malformed entry, InvalidKeyError,
 * InvalidValueError) and folds duplicate keys: the last entry of a key wins, as it would
 * had the entries been `set` one after the other.
 */
export function checkEntries<V>(
  entries: unknown,
  region: unknown,
): { keys: string[]; values: V[]; region: string | undefined } {
  if (!Array.isArray(entries))
    throw new InvalidOptionsError(`setMany needs an array of { key, value } entries, got ${typeof entries}`)
  const latest = new Map<string, V>()
  for (const entry of entries as unknown[]) {
    if (typeof entry !== 'object' || entry === null)
      throw new InvalidOptionsError('setMany entries must be { key, value } objects')
    const { key, value } = entry as { key: unknown; value: unknown }
    checkKey(key)
    checkValue(value)
    // Re-inserted so the map's order is the order of each key's last write.
    latest.delete(key as string)
    latest.set(key as string, value as V)
  }
  checkRegion(region)
  return { keys: [...latest.keys()], values: [...latest.values()], region: region as string | undefined }
}
