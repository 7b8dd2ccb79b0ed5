import type {} from 'vitest'
import type { HostPort } from './running-server.js'

/** The addresses `provideServers` hands to tests; read them with `inject('redisUrl')` etc. */
export interface ProvidedServers {
  /** Standalone Redis, `redis://host:port`. */
  redisUrl: string
  /** The nodes of a Redis Cluster (all masters). */
  redisClusterNodes: HostPort[]
  /** One Memcached server, `host:port` (or the `MEMCACHED_URL` list). */
  memcachedServers: string
  /** Two further Memcached servers, `host:port,host:port`, for multi-server tests. */
  memcachedServers2: string
  /** A NATS server with JetStream, `nats://host:port`. */
  natsUrl: string
  /** The client URLs of a 3-node NATS cluster with JetStream. */
  natsClusterUrls: string[]
  /** A PostgreSQL server, `postgresql://postgres@host:port/postgres` (trust authentication). */
  postgresUrl: string
}

declare module 'vitest' {
  /** Typed `inject()` keys for the servers started by `provideServers`. */
  interface ProvidedContext extends ProvidedServers {}
}
