/**
 * Keys in shared stores: `<prefix><cacheName>:<region>:<key>`.
 *
 * The encoding is unambiguous: the cache name and the region are escaped so they
 * never contain `:` (`%` -> `%25`, `:` -> `%3A`), so the first two colons after the
 * prefix always delimit them and the key may contain anything. A missing region is
 * the empty segment (regions are never empty strings: core rejects them), so region
 * `a` + key `b:c` (`a:b:c`) never equals region `a:b` + key `c` (`a%3Ab:c`).
 */

const NEEDS_ESCAPE = /[%:]/

/** Escapes a name or region so it contains no `:`. */
export function escapeSegment(segment: string): string {
  return NEEDS_ESCAPE.test(segment) ? segment.replaceAll('%', '%25').replaceAll(':', '%3A') : segment
}

const ESCAPED = /%(25|3A)/g

/** The segment {@link escapeSegment} was given: `%3A` -> `:` and `%25` -> `%`, in one pass. */
export function unescapeSegment(segment: string): string {
  return segment.includes('%') ? segment.replace(ESCAPED, (match) => (match === '%25' ? '%' : ':')) : segment
}

/** The part every key of one cache starts with: `<prefix><escaped cacheName>:`. */
export function cacheKeyPrefix(prefix: string, cacheName: string): string {
  return `${prefix}${escapeSegment(cacheName)}:`
}

/** The part every key of one region starts with: `<prefix><cacheName>:<escaped region>:`. */
export function regionKeyPrefix(prefix: string, cacheName: string, region: string): string {
  return `${cacheKeyPrefix(prefix, cacheName)}${escapeSegment(region)}:`
}

/** The full store key of one item; `cachePrefix` is {@link cacheKeyPrefix}'s result. */
export function storeKey(cachePrefix: string, region: string | undefined, key: string): string {
  return region === undefined ? `${cachePrefix}:${key}` : `${cachePrefix}${escapeSegment(region)}:${key}`
}
