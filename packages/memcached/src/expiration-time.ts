import type { ExpirationMode } from '@cacheplane/core'

/**
 * Memcached's expiration field from cacheplane's millisecond expirations.
 *
 * - `none` is 0 (no expiry).
 * - Otherwise the remaining time is rounded UP to whole seconds (at least 1: 0 would mean
 *   "never"), plus one second, because Memcached's clock ticks once a second and an item
 *   stored with N seconds can vanish up to a second early. Reads check the envelope's
 *   `expiresAt` for absolute items, so they still expire to the millisecond.
 * - Past 30 days Memcached reads the field as an absolute Unix time, so longer TTLs are sent as one.
 */

/** Longest relative expiration Memcached accepts, seconds (30 days); larger values are Unix times. */
export const maxRelativeSeconds = 60 * 60 * 24 * 30

/** Longest TTL this package accepts, ms: the field is an unsigned 32-bit Unix time (year 2106); 50 years. */
export const maxTtlMs = 50 * 365 * 24 * 60 * 60 * 1000

/** The expiration field for an item expiring at `expiresAt` (epoch ms; 0 = never), seen at `now`. */
export function memcachedExptime(mode: ExpirationMode, expiresAt: number, now: number): number {
  if (mode === 'none' || expiresAt === 0) return 0
  const seconds = Math.max(1, Math.ceil((expiresAt - now) / 1000)) + 1
  if (seconds <= maxRelativeSeconds) return seconds
  return Math.ceil(expiresAt / 1000) + 1
}
