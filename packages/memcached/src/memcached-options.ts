import { InvalidOptionsError } from '@cacheplane/core'
import { Client } from 'memjs'
import { prefixProblem } from './key-layout.js'

/** Options of {@link memcachedHandle}: give either `client` or `servers`. */
export interface MemcachedHandleOptions {
  /** An existing memjs client; the handle uses it and never closes it. */
  client?: Client<unknown, unknown>
  /** `'host:port'`, `'h1:p1,h2:p2'` or a list of them; the handle creates the client and closes it on `close()`. */
  servers?: string | readonly string[]
  /** Prefix of every key this handle writes (default `'cacheplane:'`); at most 64 bytes, no spaces. */
  prefix?: string
  /** Name of the handle in stats, events and errors (default `'memcached'`). */
  name?: string
  /**
   * Re-read every generation counter this often, ms (default 5000): a clear by another
   * instance that no backplane message announced stops being served within about this long.
   */
  generationRefreshMs?: number
  /**
   * Per-command timeout, ms (default 500). A client the handle creates gets it as memjs'
   * timeout; on top, the handle fails every command that has not settled after
   * `connectTimeoutMs + commandTimeoutMs`, whatever the client: memjs never settles a
   * request whose connection is accepted and then closed without an error.
   */
  commandTimeoutMs?: number
  /** Connection timeout of a client the handle creates, ms (default 1000). */
  connectTimeoutMs?: number
  /** Largest stored item (value plus metadata), bytes; larger writes throw `ValueTooLargeError` (default 1 MiB - 512). */
  maxValueBytes?: number
}

/** Options with defaults applied and the client resolved. */
export interface ResolvedMemcachedOptions {
  readonly client: Client<unknown, unknown>
  readonly ownsClient: boolean
  readonly prefix: string
  readonly name: string
  readonly generationRefreshMs: number
  readonly maxValueBytes: number
  /** The handle's own deadline on every request, ms. */
  readonly deadlineMs: number
}

/** Memcached's default item size limit is 1 MiB including the item header, key and CAS. */
export const defaultMaxValueBytes = 1024 * 1024 - 512

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionsError(
      `memcachedHandle: ${name} must be a positive number of ms/bytes, got ${String(value)}`,
    )
  }
  return value
}

function serverList(servers: string | readonly string[]): string {
  const list = (typeof servers === 'string' ? servers.split(',') : [...servers]).map((server) =>
    server.trim(),
  )
  if (list.length === 0 || list.some((server) => !/^[^\s,]+$/.test(server))) {
    throw new InvalidOptionsError(
      `memcachedHandle: servers must be 'host:port' strings, got ${JSON.stringify(servers)}`,
    )
  }
  return list.join(',')
}

const silentLogger = { log: (): void => {} }

/** Validates the options, applies defaults and creates the client when `servers` is given. */
export function resolveMemcachedOptions(options: MemcachedHandleOptions): ResolvedMemcachedOptions {
  if ((options.client === undefined) === (options.servers === undefined)) {
    throw new InvalidOptionsError(
      'memcachedHandle: give exactly one of `client` (a memjs Client) or `servers`',
    )
  }
  const prefix = options.prefix ?? 'cacheplane:'
  const problem = typeof prefix === 'string' ? prefixProblem(prefix) : 'must be a string'
  if (problem !== undefined) throw new InvalidOptionsError(`memcachedHandle: prefix ${problem}`)
  const name = options.name ?? 'memcached'
  if (typeof name !== 'string' || name === '') {
    throw new InvalidOptionsError('memcachedHandle: name must be a non-empty string')
  }
  const generationRefreshMs = positive('generationRefreshMs', options.generationRefreshMs, 5_000)
  const maxValueBytes = positive('maxValueBytes', options.maxValueBytes, defaultMaxValueBytes)
  const commandTimeoutMs = positive('commandTimeoutMs', options.commandTimeoutMs, 500)
  const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs, 1_000)
  if (options.client !== undefined) {
    const deadlineMs = connectTimeoutMs + commandTimeoutMs
    return {
      client: options.client,
      ownsClient: false,
      prefix,
      name,
      generationRefreshMs,
      maxValueBytes,
      deadlineMs,
    }
  }
  const client = Client.create(serverList(options.servers ?? ''), {
    // One attempt per request: core's circuit breaker decides what happens next.
    retries: 0,
    failover: false,
    timeout: commandTimeoutMs / 1000,
    conntimeout: connectTimeoutMs / 1000,
    keepAlive: true,
    // Failures reach core as errors (events, stats); memjs would also print them.
    logger: silentLogger,
  }) as Client<unknown, unknown>
  const deadlineMs = connectTimeoutMs + commandTimeoutMs
  return { client, ownsClient: true, prefix, name, generationRefreshMs, maxValueBytes, deadlineMs }
}
