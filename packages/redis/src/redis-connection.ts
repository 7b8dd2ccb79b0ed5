import { InvalidOptionsError } from '@cacheplane/core'
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import { isCluster } from './cluster-topology.js'
import { deadlineCommands } from './command-deadline.js'
import { corkWrites } from './corked-writes.js'

export { isCluster }

/** A standalone (or Sentinel) connection or a Cluster: every command this package sends works on both. */
export type RedisClient = Redis | Cluster

/**
 * Where to connect. Give exactly one: an existing `client` (never closed by cacheplane),
 * a `url`, standalone/Sentinel `redis` options, or `cluster` startup nodes.
 */
export interface RedisConnectionOptions {
  /** An ioredis `Redis` or `Cluster` the application already has; cacheplane never closes it. */
  client?: RedisClient
  /** A `redis://` or `rediss://` URL; cacheplane opens and closes the connection. */
  url?: string
  /** ioredis options for a standalone or Sentinel connection that cacheplane opens and closes. */
  redis?: RedisOptions
  /** Startup nodes of a Redis Cluster that cacheplane opens and closes. */
  cluster?: ClusterNode[]
  /** ioredis Cluster options, used with `cluster`. */
  clusterOptions?: ClusterOptions
  /**
   * Per-command timeout (ms) on connections cacheplane opens; default 2000. Kept by one timer
   * per connection, not one per command; ioredis' `commandTimeout` given in `redis` or
   * `clusterOptions.redisOptions` is used instead. Configure your own client's `commandTimeout` yourself.
   */
  commandTimeoutMs?: number
  /** Connect timeout (ms) on connections cacheplane opens; default 2000. Configure your own client's `connectTimeout` yourself. */
  connectTimeoutMs?: number
  /**
   * With `url`: share the connection with the process's other Redis handles and backplanes
   * opened from the same `url` with the same timeouts (default true). One connection then
   * carries a cache's SETs and its PUBLISHes, in order, so a `set` is announced as soon as its
   * SET is sent, and a process opens one command connection per server instead of one per
   * handle and backplane. False: a connection of its own, which a slow command of another
   * user cannot hold up. Only with `url`.
   */
  shareConnection?: boolean
}

/** A resolved connection and whether we own it (and so must close it). */
export interface ResolvedConnection {
  /** The client commands go to. */
  readonly client: RedisClient
  /** True when cacheplane created the client and closes it. */
  readonly owned: boolean
}

/**
 * How a connection we open writes its commands. `corked`: the commands of one tick leave in
 * one socket write ({@link corkWrites}), what many concurrent reads and writes need. `off`:
 * each command is written as it is sent, for a connection whose writes are batched already
 * (the backplane publishes one frame per batch of announces); a connection the backplane
 * shares with a handle (`shareConnection`) is corked for the handle's writes. ioredis' own auto-pipelining is
 * off in both: it defers every batch to `setImmediate`, which delayed a lone publish by a
 * later turn of the event loop (about 1 ms on a busy process) and halves a lone command's rate.
 */
export type Pipelining = 'corked' | 'off'

/**
 * Options that make a connection we own fail fast when Redis is down (core's circuit breaker
 * does the rest); the command timeout is kept apart ({@link deadlineCommands}).
 */
function failFast(options: RedisConnectionOptions): RedisOptions {
  return {
    connectTimeout: options.connectTimeoutMs ?? 2000,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: false,
  }
}

/** Opens the connection the options describe, or borrows the given client. */
export function resolveConnection(
  what: string,
  options: RedisConnectionOptions,
  pipelining: Pipelining = 'corked',
): ResolvedConnection {
  const given = [options.client, options.url, options.redis, options.cluster].filter((v) => v !== undefined)
  if (given.length !== 1) {
    throw new InvalidOptionsError(
      `${what}: give exactly one of 'client', 'url', 'redis' or 'cluster' (got ${given.length})`,
    )
  }
  checkTimeouts(what, options)
  checkSharing(what, options)
  if (options.client !== undefined) return { client: options.client, owned: false }
  const client =
    options.url !== undefined && options.shareConnection !== false ? acquireShared(options) : opened(options)
  if (pipelining === 'corked') corkWrites(client)
  return { client, owned: true }
}

/** The command timeout of a connection we open, ms. */
function commandTimeoutOf(options: RedisConnectionOptions): number {
  return options.commandTimeoutMs ?? 2000
}

/** A connection we open, with the fail-fast options and a command timeout. */
function opened(options: RedisConnectionOptions): RedisClient {
  const client = open(options)
  const ioredisTimeout = options.redis?.commandTimeout ?? options.clusterOptions?.redisOptions?.commandTimeout
  if (ioredisTimeout === undefined) deadlineCommands(client, commandTimeoutOf(options))
  // Failures reach core through the commands that fail; without a listener ioredis would
  // also print every reconnect attempt as an "unhandled error event".
  client.on('error', () => {})
  return client
}

/**
 * The connections opened from a `url` and shared (`shareConnection`), by url and timeouts,
 * and how many handles and backplanes hold each. {@link closeClient} closes one when its
 * last holder lets go. Corked once any holder asks for it: a handle's writes need the
 * batching, and a backplane's publishes then leave with the SETs of their tick.
 */
const sharedByKey = new Map<string, RedisClient>()
const holders = new Map<RedisClient, { readonly key: string; count: number }>()

function acquireShared(options: RedisConnectionOptions): RedisClient {
  const key = JSON.stringify([options.url, commandTimeoutOf(options), failFast(options).connectTimeout])
  let client = sharedByKey.get(key)
  if (client === undefined) {
    client = opened(options)
    sharedByKey.set(key, client)
    holders.set(client, { key, count: 0 })
  }
  const held = holders.get(client)!
  held.count++
  return client
}

/** `shareConnection` is a boolean, and only given with `url`. */
function checkSharing(what: string, options: RedisConnectionOptions): void {
  const share = options.shareConnection
  if (share === undefined) return
  if (typeof share !== 'boolean') {
    throw new InvalidOptionsError(`${what}: 'shareConnection' must be true or false, got ${String(share)}`)
  }
  if (options.url === undefined) {
    throw new InvalidOptionsError(`${what}: 'shareConnection' applies to connections opened from 'url'`)
  }
}

/** The timeouts are positive, and only given for connections we open (a given client keeps its own). */
function checkTimeouts(what: string, options: RedisConnectionOptions): void {
  const timeouts = [
    ['commandTimeoutMs', options.commandTimeoutMs, 'commandTimeout'],
    ['connectTimeoutMs', options.connectTimeoutMs, 'connectTimeout'],
  ] as const
  for (const [option, value, ioredisOption] of timeouts) {
    if (value === undefined) continue
    if (!(value > 0) || !Number.isFinite(value)) {
      throw new InvalidOptionsError(`${what}: '${option}' must be a positive number of ms, got ${value}`)
    }
    if (options.client !== undefined) {
      throw new InvalidOptionsError(
        `${what}: '${option}' applies to connections cacheplane opens; set '${ioredisOption}' on your client instead`,
      )
    }
  }
}

function open(options: RedisConnectionOptions): RedisClient {
  const fast = failFast(options)
  if (options.url !== undefined) return new Redis(options.url, fast)
  if (options.redis !== undefined) return new Redis({ ...fast, ...options.redis })
  const nodes = options.cluster ?? []
  if (nodes.length === 0) throw new InvalidOptionsError("redis: 'cluster' needs at least one startup node")
  const clusterOptions: ClusterOptions = {
    enableAutoPipelining: false,
    ...options.clusterOptions,
    redisOptions: { ...fast, ...options.clusterOptions?.redisOptions },
  }
  return new Cluster(nodes, clusterOptions)
}

/**
 * Closes a client we own: QUIT when it is connected, a hard disconnect otherwise (never hangs
 * on a dead server). A shared client is closed by its last holder; the others only let go.
 */
export async function closeClient(client: RedisClient): Promise<void> {
  const held = holders.get(client)
  if (held !== undefined) {
    if (--held.count > 0) return
    holders.delete(client)
    sharedByKey.delete(held.key)
  }
  if (client.status === 'ready') {
    try {
      await client.quit()
      return
    } catch {
      // The server went away mid-QUIT: fall through to a hard disconnect.
    }
  }
  client.disconnect()
}

/**
 * The master connections of a client: itself when standalone, every master when Cluster.
 * A Cluster knows its nodes only once it is ready, so a command is sent first if needed
 * (it waits in the offline queue, or fails like any command when the cluster is down).
 */
export async function masters(client: RedisClient): Promise<Redis[]> {
  if (!isCluster(client)) return [client]
  if (client.status !== 'ready' || client.nodes('master').length === 0) await client.ping()
  const nodes = client.nodes('master')
  if (nodes.length === 0) throw new Error('the Redis Cluster reports no master nodes')
  return nodes
}
