/**
 * A serializable description of what a worker's `CacheManager` runs on, and the code that builds
 * it. The test process describes; every worker builds its own manager from the same description.
 */
import { type Backplane, type BackplaneSubscription, type CacheHandle, CacheManager } from '@cacheplane/core'
import { keyvHandle } from '@cacheplane/keyv'
import KeyvPostgres from '@keyv/postgres'
import { memcachedHandle } from '@cacheplane/memcached'
import { memoryHandle } from '@cacheplane/memory'
import { natsBackplane } from '@cacheplane/nats'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'
import type { ExpirationSpec, LoadOptionsSpec, Value } from './protocol.js'

/** A `host:port` pair. */
export interface Address {
  readonly host: string
  readonly port: number
}

/** The distributed cache below the memory layer. */
export type StoreSpec =
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'redisCluster'; readonly nodes: readonly Address[] }
  | { readonly kind: 'memcached'; readonly servers: string }
  /** PostgreSQL through `@keyv/postgres` and `keyvHandle` (no CAS: `update` is refused). */
  | { readonly kind: 'keyvPostgres'; readonly url: string }

/** The backplane. */
export type BackplaneSpec =
  | { readonly kind: 'redis'; readonly url: string; readonly maxSilenceMs?: number }
  | { readonly kind: 'redisCluster'; readonly nodes: readonly Address[]; readonly sharded: boolean }
  | {
      readonly kind: 'nats'
      readonly servers: readonly string[]
      readonly replayMaxAgeMs?: number
      readonly maxSilenceMs?: number
      /** The client's dial timeout (its default is 20 s), ms: a dial into a blackhole gives up sooner. */
      readonly dialTimeoutMs?: number
    }

/** Memory layer, optional distributed layer, optional backplane. */
export interface Topology {
  /** Short name for test titles. */
  readonly label: string
  readonly store?: StoreSpec
  readonly backplane?: BackplaneSpec
  /**
   * A Redis store and a Redis backplane on the same server share one client the worker opens
   * (the README's setup): a `set` or `remove` is announced behind its write on that connection.
   */
  readonly oneClient?: boolean
}

/** Everything a worker needs to build its manager. */
export interface ManagerSpec {
  readonly cacheName: string
  /** More caches in the same process, sharing one backplane object with `cacheName`'s. */
  readonly sharedWith?: readonly string[]
  readonly topology: Topology
  /** Identifies the worker in the values it writes. */
  readonly workerId: string
  readonly secret?: string
  readonly maxLocalTtlMs?: number
  readonly expiration?: ExpirationSpec
  /** What the manager does with its memory layer while the backplane is down; the default when omitted. */
  readonly backplaneDown?: 'bypass' | 'keep'
  /** Circuit breaker of the distributed layer; the manager's default when omitted. */
  readonly circuitBreaker?: { readonly failureThreshold: number; readonly resetAfterMs: number } | false
  /** Memcached's `generationRefreshMs`; 500 when omitted. */
  readonly generationRefreshMs?: number
  /** The backplane does not subscribe until {@link releaseSubscription} (a slow subscribe, made deterministic). */
  readonly holdSubscription?: boolean
  /** Manager-level resilience defaults (grace, throttle, timeouts, eager refresh). */
  readonly resilience?: Omit<LoadOptionsSpec, 'expiration'>
}

/**
 * Per-request timeout of the store clients, ms: generous, because a 2-core machine running other
 * suites can stall a process for hundreds of ms, and the scenarios must not depend on speed.
 */
const STORE_TIMEOUT_MS = 2_000

function store(spec: StoreSpec, generationRefreshMs = 500, client?: Redis): CacheHandle<unknown> {
  switch (spec.kind) {
    case 'redis':
      return client === undefined
        ? redisHandle({ name: 'redis', url: spec.url, commandTimeoutMs: STORE_TIMEOUT_MS })
        : redisHandle({ name: 'redis', client })
    case 'redisCluster':
      return redisHandle({ name: 'redis', cluster: spec.nodes.map((node) => ({ ...node })) })
    case 'memcached':
      return memcachedHandle({
        name: 'memcached',
        servers: spec.servers,
        generationRefreshMs,
        commandTimeoutMs: STORE_TIMEOUT_MS,
      })
    case 'keyvPostgres':
      return keyvHandle({ name: 'postgres', store: postgresStore(spec.url), generationRefreshMs: 500 })
  }
}

/** A `@keyv/postgres` store; its connection errors (emitted, not thrown) are printed for the test log. */
function postgresStore(url: string): KeyvPostgres {
  const store = new KeyvPostgres({ uri: url, table: 'cacheplane_integration' })
  // @keyv/postgres' types lose `on` without esModuleInterop (its class extends a default import).
  ;(store as unknown as NodeJS.EventEmitter).on('error', (error: unknown) => {
    console.error(`worker ${process.pid}: @keyv/postgres: ${String(error)}`)
  })
  return store
}

function backplane(spec: BackplaneSpec, client?: Redis): Backplane {
  switch (spec.kind) {
    case 'redis':
      return client === undefined
        ? redisBackplane({ name: 'redis-bp', url: spec.url, maxSilenceMs: spec.maxSilenceMs })
        : redisBackplane({ name: 'redis-bp', client, maxSilenceMs: spec.maxSilenceMs })
    case 'redisCluster':
      return redisBackplane({
        name: 'redis-bp',
        cluster: spec.nodes.map((node) => ({ ...node })),
        sharded: spec.sharded,
      })
    case 'nats':
      return natsBackplane({
        name: 'nats',
        servers: [...spec.servers],
        // Reconnect quickly so fault scenarios do not wait for the client's default 2 s backoff.
        connectOptions: {
          reconnectTimeWait: 200,
          maxReconnectAttempts: -1,
          ...(spec.dialTimeoutMs === undefined ? {} : { timeout: spec.dialTimeoutMs }),
        },
        maxSilenceMs: spec.maxSilenceMs,
        ...(spec.replayMaxAgeMs === undefined
          ? {}
          : { replay: { maxAgeMs: spec.replayMaxAgeMs, storage: 'memory' as const } }),
      })
  }
}

let subscriptionReleased: () => void = () => {}
const subscriptionHeld = new Promise<void>((resolve) => {
  subscriptionReleased = resolve
})

/** Lets a backplane built with `holdSubscription` subscribe. */
export function releaseSubscription(): void {
  subscriptionReleased()
}

/** `inner`, subscribing only once {@link releaseSubscription} is called. */
function heldConnect(inner: Backplane): Backplane {
  return {
    name: inner.name,
    // A getter: a transport may change its limits once connected (NATS' max_payload).
    get capabilities() {
      return inner.capabilities
    },
    connect: (channel, listener): BackplaneSubscription => {
      let closed = false
      let made: BackplaneSubscription | undefined
      const subscription = subscriptionHeld.then(() => {
        if (closed) throw new Error('held subscription closed before it was released')
        made = inner.connect(channel, listener)
        return made
      })
      return {
        ready: subscription.then((s) => s.ready),
        publish: async (frame) => (await subscription).publish(frame),
        close: async () => {
          closed = true
          await made?.close()
        },
      }
    },
    close: () => inner.close(),
  }
}

/** The backplane object every manager of a worker shares (held until released when the spec asks). */
function managerBackplane(spec: ManagerSpec, client: Redis | undefined): Backplane | undefined {
  const { topology } = spec
  if (topology.backplane === undefined) return undefined
  const built = backplane(topology.backplane, client)
  return spec.holdSubscription === true ? heldConnect(built) : built
}

/**
 * The client a `oneClient` topology's store and backplane share, with the fail-fast settings the
 * handle gives the connections it opens. Never closed: the worker exits with its test.
 */
function sharedClient(topology: Topology): Redis | undefined {
  if (topology.oneClient !== true) return undefined
  const { store, backplane } = topology
  if (store?.kind !== 'redis' || backplane?.kind !== 'redis' || store.url !== backplane.url)
    throw new Error(`topology '${topology.label}': oneClient needs a Redis store and backplane on one URL`)
  const client = new Redis(store.url, {
    commandTimeout: STORE_TIMEOUT_MS,
    connectTimeout: STORE_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
  })
  client.on('error', () => {})
  return client
}

/** Builds the manager the spec describes: memory on top, then the store, with the backplane. */
export function buildManager(spec: ManagerSpec): CacheManager<Value> {
  return buildManagers(spec)[0] as CacheManager<Value>
}

/** The managers of `cacheName` and of every `sharedWith` name, all on one backplane object. */
export function buildManagers(spec: ManagerSpec): CacheManager<Value>[] {
  const client = sharedClient(spec.topology)
  const shared = managerBackplane(spec, client)
  return [spec.cacheName, ...(spec.sharedWith ?? [])].map((name) => managerOn(spec, name, shared, client))
}

function managerOn(
  spec: ManagerSpec,
  name: string,
  shared: Backplane | undefined,
  client: Redis | undefined,
): CacheManager<Value> {
  const { topology } = spec
  const handles: CacheHandle<unknown>[] = [memoryHandle({ name: 'memory', maxEntries: 10_000 })]
  if (topology.store !== undefined) handles.push(store(topology.store, spec.generationRefreshMs, client))
  return new CacheManager<Value>({
    name,
    handles,
    backplane: shared,
    secret: spec.secret,
    maxLocalTtlMs: spec.maxLocalTtlMs,
    expiration: spec.expiration,
    circuitBreaker: spec.circuitBreaker,
    backplaneDown: spec.backplaneDown,
    retry: { baseDelayMs: 50, maxDelayMs: 500 },
    ...spec.resilience,
  })
}
