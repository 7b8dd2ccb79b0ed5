import type { TestProject } from 'vitest/node'
import { startMemcached, startOwnMemcached } from './memcached.js'
import { startNats } from './nats.js'
import { startNatsCluster } from './nats-cluster.js'
import { startPostgres } from './postgres.js'
import './provided-context.js'
import { startRedis } from './redis.js'
import { startRedisCluster } from './redis-cluster.js'

/** The server topologies a test project can ask for. */
export type ServerKindName =
  | 'redis'
  | 'redisCluster'
  | 'memcached'
  | 'memcached2'
  | 'nats'
  | 'natsCluster'
  | 'postgres'

interface Started {
  stop(): Promise<void>
}

type Starter = (project: TestProject) => Promise<Started>

const starters: Record<ServerKindName, Starter> = {
  async redis(project) {
    const server = await startRedis()
    project.provide('redisUrl', server.url)
    return server
  },
  async redisCluster(project) {
    const cluster = await startRedisCluster()
    project.provide(
      'redisClusterNodes',
      cluster.nodes.map(({ host, port }) => ({ host, port })),
    )
    return cluster
  },
  async memcached(project) {
    const server = await startMemcached()
    project.provide('memcachedServers', server.url)
    return server
  },
  async memcached2(project) {
    // A MEMCACHED_URL that already lists several servers is used as is; otherwise two are started.
    const fromEnv = process.env.MEMCACHED_URL?.trim() ?? ''
    if (fromEnv.split(',').filter((server) => server.trim() !== '').length >= 2) {
      project.provide('memcachedServers2', fromEnv)
      return { stop: async () => {} }
    }
    const servers = await Promise.all([startOwnMemcached(), startOwnMemcached()])
    project.provide('memcachedServers2', servers.map((server) => server.url).join(','))
    return { stop: async () => void (await Promise.all(servers.map((server) => server.stop()))) }
  },
  async nats(project) {
    const server = await startNats()
    project.provide('natsUrl', server.url)
    return server
  },
  async natsCluster(project) {
    const cluster = await startNatsCluster()
    project.provide('natsClusterUrls', cluster.urls)
    return cluster
  },
  async postgres(project) {
    const server = await startPostgres()
    project.provide('postgresUrl', server.url)
    return server
  },
}

/**
 * Starts the requested servers for a vitest `globalSetup`, provides their addresses to the tests
 * (see {@link ProvidedServers}) and returns the teardown that stops them. If any fails to start,
 * the others are stopped and the error (which says how to get the server) is thrown.
 *
 * ```ts
 * // test/global-setup.ts
 * import type { TestProject } from 'vitest/node'
 * import { provideServers } from '@cacheplane/test-servers'
 * export default (project: TestProject) => provideServers(project, ['redis', 'redisCluster'])
 * ```
 */
export async function provideServers(
  project: TestProject,
  kinds: readonly ServerKindName[],
): Promise<() => Promise<void>> {
  const results = await Promise.allSettled([...new Set(kinds)].map((kind) => starters[kind](project)))
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const teardown = async (): Promise<void> => {
    await Promise.all(started.map((server) => server.stop()))
  }
  const failure = results.find((result) => result.status === 'rejected')
  if (failure !== undefined) {
    await teardown()
    throw failure.reason
  }
  return teardown
}
