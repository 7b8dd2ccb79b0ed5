import { InvalidOptionsError } from '@cacheplane/core'

/** Options of {@link memoryHandle}. */
export interface MemoryHandleOptions<V = unknown> {
  /** Name of the handle within a manager (stats, events, errors). Default `'memory'`. */
  readonly name?: string
  /** Most items kept; beyond it the least recently used are evicted (as CLOCK counts use, see `memoryHandle`). Default 10,000. */
  readonly maxEntries?: number
  /** Optional byte bound: least recently used items are evicted while the total exceeds it. */
  readonly maxBytes?: number
  /**
   * Size of a value in bytes, counted against `maxBytes`. Defaults to `byteLength` in
   * distributed mode (values are bytes); required with `maxBytes` otherwise.
   */
  readonly sizeOf?: (value: V) => number
  /** How often expired items are swept, ms; 0 disables the sweep (expiry stays lazy). Default 30,000. */
  readonly sweepIntervalMs?: number
  /**
   * Play a shared store (demos, tests): declares `distributed: true` and `bytes: true`,
   * so core stores serialized bytes and several managers of one cache name may bind it.
   */
  readonly distributed?: boolean
}

/** Options with defaults applied and checked. */
export interface ResolvedMemoryOptions<V> {
  readonly name: string
  readonly maxEntries: number
  readonly maxBytes: number
  readonly sizeOf: ((value: V) => number) | undefined
  readonly sweepIntervalMs: number
  readonly distributed: boolean
}

/** Default `maxEntries`. */
export const DEFAULT_MAX_ENTRIES = 10_000
/** Default `sweepIntervalMs`. */
export const DEFAULT_SWEEP_INTERVAL_MS = 30_000
// setInterval cannot wait longer than a signed 32-bit number of ms.
const MAX_TIMER_MS = 2_147_483_647

/** Applies defaults and throws InvalidOptionsError for anything malformed. */
export function resolveMemoryOptions<V>(options: MemoryHandleOptions<V> = {}): ResolvedMemoryOptions<V> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('memoryHandle options must be an object')
  }
  const { name = 'memory', maxEntries = DEFAULT_MAX_ENTRIES, maxBytes, sizeOf, distributed = false } = options
  const sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidOptionsError('memoryHandle: name must be a non-empty string')
  }
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new InvalidOptionsError(
      `memoryHandle: maxEntries must be a positive integer, got ${String(maxEntries)}`,
    )
  }
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 1)) {
    throw new InvalidOptionsError(
      `memoryHandle: maxBytes must be a positive integer, got ${String(maxBytes)}`,
    )
  }
  if (sizeOf !== undefined && typeof sizeOf !== 'function') {
    throw new InvalidOptionsError('memoryHandle: sizeOf must be a function (value) => bytes')
  }
  if (sizeOf !== undefined && maxBytes === undefined) {
    throw new InvalidOptionsError('memoryHandle: sizeOf is only used with maxBytes; set maxBytes too')
  }
  if (typeof distributed !== 'boolean') {
    throw new InvalidOptionsError('memoryHandle: distributed must be a boolean')
  }
  if (maxBytes !== undefined && sizeOf === undefined && !distributed) {
    throw new InvalidOptionsError(
      'memoryHandle: maxBytes needs sizeOf(value) => bytes (values are objects; only distributed mode stores bytes)',
    )
  }
  if (
    typeof sweepIntervalMs !== 'number' ||
    !Number.isInteger(sweepIntervalMs) ||
    sweepIntervalMs < 0 ||
    sweepIntervalMs > MAX_TIMER_MS
  ) {
    throw new InvalidOptionsError(
      `memoryHandle: sweepIntervalMs must be 0 (off) or an integer number of ms up to ${MAX_TIMER_MS}, got ${String(sweepIntervalMs)}`,
    )
  }
  return {
    name,
    maxEntries,
    maxBytes: maxBytes ?? Number.POSITIVE_INFINITY,
    sizeOf: maxBytes === undefined ? undefined : (sizeOf ?? (byteLength as (value: V) => number)),
    sweepIntervalMs,
    distributed,
  }
}

function byteLength(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength
  throw new InvalidOptionsError(
    `memoryHandle: cannot size a ${typeof value} value for maxBytes; pass sizeOf(value) => bytes`,
  )
}
