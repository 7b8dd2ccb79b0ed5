/**
 * Where handles keep getOrAdd's cluster locks (`HandleLock`): `<prefix>%lock:<cacheName>:`,
 * then the region and key as in `storeKey`. Item keys of the same prefix are
 * `<prefix><escaped cacheName>:...`, and an escaped name contains `%` only as `%25` or `%3A`,
 * so no cache name, region or key can ever produce a lock key: locks need no reserved user
 * keys, and a SCAN by a cache's prefix (Redis clears) never meets them.
 */
import { escapeSegment } from './store-key.js'

/** The segment that marks lock keys; never the start of an escaped cache name. */
export const LOCK_SEGMENT = '%lock:'

/** The part every lock key of one cache starts with: `<prefix>%lock:<escaped cacheName>:`. */
export function lockKeyPrefix(prefix: string, cacheName: string): string {
  return `${prefix}${LOCK_SEGMENT}${escapeSegment(cacheName)}:`
}
