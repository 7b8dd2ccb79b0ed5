/**
 * What every bytes handle does with what it finds under an item's key, decided once here
 * so the same store contents give the same answer from every handle:
 *
 * - Bytes that are not an item (corrupt: written by someone else, truncated, of another
 *   format) are an error to every operation that needs the item: `get`, `peek`,
 *   `getMany`, `update`, `expire` and `touch` throw ItemCorruptError (the handle's name as
 *   `source`) and change nothing. Core reports it as an `error` event that does not count
 *   against the circuit, and a read is a miss.
 * - Writes that do not need the item replace it: `set` overwrites, `remove` deletes.
 * - `add` finds the key taken, as for a live item: it never overwrites what it cannot
 *   read (Redis' `SET NX` cannot tell either). Core's `add` and `getOrAdd` then read it,
 *   find it corrupt and overwrite it with `set`: to readers the key was absent, so the add
 *   wins there as it would on an empty key.
 *
 * Reads never delete corrupt bytes: a read changes nothing but a sliding item's lifetime.
 */
import type { StoredItem } from './contracts/cache-handle.js'
import { decodeEnvelope } from './envelope.js'
import { ItemCorruptError } from './errors.js'

/**
 * The item in `bytes` (core's envelope, see encodeEnvelope); throws ItemCorruptError naming
 * the handle (`source`) and, when given, the store key for anything else.
 */
export function decodeStoredItem(bytes: Uint8Array, source: string, key?: string): StoredItem<Uint8Array> {
  try {
    return decodeEnvelope(bytes)
  } catch (error) {
    const where = key === undefined ? '' : ` under '${key}'`
    const why = error instanceof Error ? error.message : String(error)
    throw new ItemCorruptError(`${source}: the stored bytes${where} are not a cacheplane item (${why})`, {
      cause: error,
      source,
    })
  }
}
