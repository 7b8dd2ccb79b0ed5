import { Cluster, Redis } from 'ioredis'
import { inject } from 'vitest'
import type { RedisClient, RedisConnectionOptions } from '../src/redis-connection.js'

/** A Redis deployment the tests run against, from the servers test/global-setup.ts started. */
export interface Topology {
  /** Name in test titles. */
  readonly name: 'standalone' | 'cluster'
  /** A new client to it (the test closes it). */
  connect(): RedisClient
  /** Connection options for a client the handle or backplane opens (and closes) itself. */
  options(): RedisConnectionOptions
}

function clusterNodes() {
  const nodes = inject('redisClusterNodes')
  if (nodes === undefined || nodes.length === 0)
    throw new Error('global setup provided no Redis Cluster nodes')
  return nodes
}

function standaloneUrl(): string {
  const url = inject('redisUrl')
  if (url === undefined || url === '') throw new Error('global setup provided no Redis URL')
  return url
}

/** Standalone Redis. */
export const standalone: Topology = {
  name: 'standalone',
  connect: () => new Redis(standaloneUrl()),
  options: () => ({ url: standaloneUrl() }),
}

/** The 3-master Redis Cluster. */
export const cluster: Topology = {
  name: 'cluster',
  connect: () => new Cluster(clusterNodes()),
  options: () => ({ cluster: clusterNodes() }),
}

/** Both deployments, for `describe.each`. */
export const topologies: readonly Topology[] = [standalone, cluster]

/** Every master of a client (the client itself when standalone), once the client is ready. */
export async function mastersOf(client: RedisClient): Promise<Redis[]> {
  await client.ping()
  return client instanceof Cluster ? client.nodes('master') : [client as Redis]
}

/** Closes clients a test opened, ignoring those already gone. */
export async function closeAll(clients: Iterable<RedisClient>): Promise<void> {
  await Promise.all(
    [...clients].map(async (client) => {
      try {
        await client.quit()
      } catch {
        client.disconnect()
      }
    }),
  )
}
