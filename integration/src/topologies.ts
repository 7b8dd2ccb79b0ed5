/**
 * The topologies the scenarios run on, built from the servers the global setup provided.
 * Call inside a test file (they read `inject`).
 */
import type {} from '@cacheplane/test-servers/provided-context'
import { inject } from 'vitest'
import type { Topology } from './worker/topology.js'

/**
 * Memory + Redis + Redis pub/sub on one client, as the README sets them up (a `set` or `remove`
 * announced behind its write): the main topology (soak, faults).
 */
export function redisTopology(): Topology {
  const url = inject('redisUrl')
  return {
    label: 'memory + Redis + Redis backplane on one client',
    store: { kind: 'redis', url },
    backplane: { kind: 'redis', url },
    oneClient: true,
  }
}

/** Memory + two Memcached servers + NATS. */
export function memcachedNatsTopology(): Topology {
  return {
    label: 'memory + Memcached x2 + NATS backplane',
    store: { kind: 'memcached', servers: inject('memcachedServers2') },
    backplane: { kind: 'nats', servers: [inject('natsUrl')] },
  }
}

/** Every topology with a distributed layer. */
export function distributedTopologies(): Topology[] {
  const redisUrl = inject('redisUrl')
  const nodes = inject('redisClusterNodes')
  return [
    redisTopology(),
    memcachedNatsTopology(),
    {
      label: 'memory + Redis Cluster + sharded Redis backplane',
      store: { kind: 'redisCluster', nodes },
      backplane: { kind: 'redisCluster', nodes, sharded: true },
    },
    {
      label: 'memory + Redis + NATS replay backplane',
      store: { kind: 'redis', url: redisUrl },
      backplane: { kind: 'nats', servers: [inject('natsUrl')], replayMaxAgeMs: 60_000 },
    },
    {
      label: 'memory + Redis + 3-node NATS cluster backplane',
      store: { kind: 'redis', url: redisUrl },
      backplane: { kind: 'nats', servers: inject('natsClusterUrls') },
    },
  ]
}

/** Memory only, kept in sync by a backplane. */
export function memoryOnlyTopologies(): Topology[] {
  return [
    { label: 'memory only + NATS backplane', backplane: { kind: 'nats', servers: [inject('natsUrl')] } },
    { label: 'memory only + Redis backplane', backplane: { kind: 'redis', url: inject('redisUrl') } },
  ]
}

/** Memory + PostgreSQL (through `@keyv/postgres` and `keyvHandle`) with each backplane. */
export function keyvPostgresTopologies(): Topology[] {
  const store = { kind: 'keyvPostgres', url: inject('postgresUrl') } as const
  return [
    {
      label: 'memory + PostgreSQL (keyv) + Redis backplane',
      store,
      backplane: { kind: 'redis', url: inject('redisUrl') },
    },
    {
      label: 'memory + PostgreSQL (keyv) + NATS backplane',
      store,
      backplane: { kind: 'nats', servers: [inject('natsUrl')] },
    },
  ]
}
