/**
 * What one demo instance runs on, and how to build its CacheManager from that.
 * The default needs no servers: a `memoryHandle({ distributed: true })` shared by
 * every instance plays the distributed cache, and an in-process hub the backplane.
 */
import {
  type Backplane,
  type BackplaneHub,
  type CacheHandle,
  CacheManager,
  memoryBackplane,
} from '@cacheplane/core'
import { memcachedHandle } from '@cacheplane/memcached'
import { memoryHandle } from '@cacheplane/memory'
import { natsBackplane } from '@cacheplane/nats'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { behindSwitch, registerOutage } from './outage.js'

/** Where the shared store and the backplane live. Serializable: it is sent to worker processes. */
export interface Topology {
  /** `redis`/`memcached` URLs, or absent for the in-process shared store. */
  readonly store:
    | { readonly kind: 'redis'; readonly url: string }
    | { readonly kind: 'memcached'; readonly servers: string }
    | undefined
  /** `redis`/`nats` URL, or absent for the in-process hub. */
  readonly backplane:
    | { readonly kind: 'redis'; readonly url: string }
    | { readonly kind: 'nats'; readonly url: string }
    | undefined
}

/** The in-process pieces instances share when no servers are named. */
export interface InProcessShared {
  readonly store: CacheHandle<unknown>
  readonly hub: BackplaneHub
}

/** True when every instance can live in this process (no servers named). */
export function isInProcess(topology: Topology): boolean {
  return topology.store === undefined && topology.backplane === undefined
}

/** Builds one instance's cache: a memory layer over the shared store, synchronised by the backplane. */
export function buildCache(cacheName: string, topology: Topology, shared?: InProcessShared): CacheManager {
  const { handle: store, outage } = behindSwitch(sharedStore(topology, shared))
  const cache = new CacheManager({
    name: cacheName,
    handles: [memoryHandle({ name: 'memory', maxEntries: 1_000 }), store],
    // The in-process store is every instance's: none of them closes it.
    shared: shared === undefined ? [] : [store],
    backplane: backplane(topology, shared),
    expiration: { mode: 'absolute', ttl: 60_000 },
  })
  registerOutage(cache, outage)
  return cache
}

function sharedStore(topology: Topology, shared: InProcessShared | undefined): CacheHandle<unknown> {
  if (topology.store?.kind === 'redis') return redisHandle({ name: 'redis', url: topology.store.url })
  if (topology.store?.kind === 'memcached')
    return memcachedHandle({ name: 'memcached', servers: topology.store.servers })
  if (shared === undefined)
    throw new Error('the in-process store exists only when all instances share a process')
  return shared.store
}

function backplane(topology: Topology, shared: InProcessShared | undefined): Backplane {
  if (topology.backplane?.kind === 'redis') return redisBackplane({ url: topology.backplane.url })
  if (topology.backplane?.kind === 'nats') return natsBackplane({ servers: topology.backplane.url })
  if (shared === undefined)
    throw new Error('the in-process backplane exists only when all instances share a process')
  return memoryBackplane({ hub: shared.hub, name: 'hub' })
}

/** Describes the topology in one line for the timeline's header. */
export function describeTopology(topology: Topology): string {
  const store =
    topology.store === undefined
      ? 'a shared in-process store'
      : topology.store.kind === 'redis'
        ? `Redis at ${topology.store.url}`
        : `Memcached at ${topology.store.servers}`
  const bus =
    topology.backplane === undefined
      ? 'the in-process backplane'
      : `${topology.backplane.kind === 'redis' ? 'Redis pub/sub' : 'NATS'} at ${topology.backplane.url}`
  return `memory layer -> ${store}, synchronised by ${bus}`
}
