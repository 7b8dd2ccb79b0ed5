/**
 * Argument validation for `CacheManager`. Every check throws a typed error from
 * `errors.ts` with a message that names the bad input, so a caller's mistake never
 * reaches a handle (where it would surface as a confusing store error).
 */
import type { Expiration } from './contracts/cache-handle.js'
import { InvalidExpirationError, InvalidKeyError, InvalidOptionsError, InvalidValueError } from './errors.js'

/** Longest key or region accepted, in UTF-16 code units (64 KiB): longer is a bug, not a key. */
export const MAX_KEY_LENGTH = 65_536

/** Longest TTL accepted, ms (10 years): anything longer is almost certainly a unit mistake. */
export const MAX_TTL_MS = 10 * 365 * 24 * 60 * 60 * 1000

/** True when `value` is a valid key or region: a non-empty string of at most {@link MAX_KEY_LENGTH}. */
export function isValidKey(value: unknown): value is string {
  return typeof value === 'string' && value.length !== 0 && value.length <= MAX_KEY_LENGTH
}

/** Throws InvalidKeyError unless `key` is a valid key. */
export function checkKey(key: unknown): void {
  if (!isValidKey(key)) throw new InvalidKeyError(describeBadString('key', key))
}

/**
 * True when `value` is a region users may name: a valid key that does not start with U+0000
 * (core keeps its own data, the tag stamps, in regions starting with it).
 */
export function isValidRegion(value: unknown): value is string {
  return isValidKey(value) && value.charCodeAt(0) !== 0
}

/** Throws InvalidKeyError unless `region` is undefined or a valid region. */
export function checkRegion(region: unknown): void {
  if (region === undefined || isValidRegion(region)) return
  if (isValidKey(region))
    throw new InvalidKeyError('regions starting with U+0000 are reserved for cacheplane')
  throw new InvalidKeyError(describeBadString('region', region))
}

function describeBadString(what: string, value: unknown): string {
  if (typeof value !== 'string') return `${what} must be a string, got ${typeof value}`
  if (value.length === 0) return `${what} must not be empty`
  return `${what} is ${value.length} characters long; the maximum is ${MAX_KEY_LENGTH}`
}

/** Throws InvalidValueError for `undefined` (it means "absent" and cannot be cached). */
export function checkValue(value: unknown): void {
  if (value === undefined) throw new InvalidValueError('undefined cannot be cached (it means "absent")')
}

/** Throws InvalidExpirationError unless `expiration` is a well-formed {@link Expiration}. */
export function checkExpiration(expiration: unknown, what = 'expiration'): asserts expiration is Expiration {
  if (typeof expiration !== 'object' || expiration === null) {
    throw new InvalidExpirationError(`${what} must be an object like { mode: 'absolute', ttl: 60_000 }`)
  }
  const { mode, ttl } = expiration as { mode?: unknown; ttl?: unknown }
  if (mode === 'none') return
  if (mode !== 'absolute' && mode !== 'sliding') {
    throw new InvalidExpirationError(
      `${what}.mode must be 'none', 'absolute' or 'sliding', got ${String(mode)}`,
    )
  }
  checkTtl(ttl, `${what}.ttl`)
}

/** Throws InvalidExpirationError unless `ttl` is a positive finite number of ms up to {@link MAX_TTL_MS}. */
export function checkTtl(ttl: unknown, what: string): asserts ttl is number {
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new InvalidExpirationError(
      `${what} must be a positive finite number of milliseconds, got ${String(ttl)}`,
    )
  }
  if (ttl > MAX_TTL_MS) {
    throw new InvalidExpirationError(`${what} is ${ttl} ms, more than 10 years; TTLs are in milliseconds`)
  }
}

/** Throws InvalidOptionsError unless `value` is a positive finite number (ms, counts, ratios). */
export function checkPositive(value: unknown, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new InvalidOptionsError(
      `${what} must be a positive finite number up to ${max}, got ${String(value)}`,
    )
  }
}

/** Throws InvalidOptionsError unless `value` is an integer >= 0. */
export function checkNonNegativeInteger(value: unknown, what: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidOptionsError(`${what} must be an integer >= 0, got ${String(value)}`)
  }
}
