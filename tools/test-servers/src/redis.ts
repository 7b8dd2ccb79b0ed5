import { probes } from './probe.js'
import { resolveServer, type ServerKind, startOwnServer } from './resolve-server.js'
import type { RunningServer } from './running-server.js'

/** Pinned image used when a container engine is reachable. */
export const redisImage = 'redis:7.2.5-alpine'

/** Options for {@link startRedis}. */
export interface RedisOptions {
  /** Extra `redis-server` arguments, e.g. `['--notify-keyspace-events', 'Exg']`. */
  args?: string[]
}

const redisUrl = (host: string, port: number): string => `redis://${host}:${port}`
// No persistence: every start is an empty database and nothing is written to disk.
const volatile = ['--save', '', '--appendonly', 'no']

/** The Redis server kind; exported for the cluster starter. */
export function redisKind(options: RedisOptions = {}): ServerKind {
  const extra = options.args ?? []
  return {
    name: 'Redis',
    envName: 'REDIS_URL',
    defaultPort: 6379,
    binaryName: 'redis-server',
    container: () => ({
      image: redisImage,
      containerPort: 6379,
      command: ['redis-server', '--protected-mode', 'no', ...volatile, ...extra],
      url: redisUrl,
    }),
    process: (binary) => ({
      kind: 'redis',
      binary,
      args: (port, dir) => [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        ...volatile,
        ...extra,
      ],
      probe: probes.redis,
      url: redisUrl,
    }),
  }
}

/** A standalone Redis: `REDIS_URL`, else a container, else the local `redis-server`. URL `redis://host:port`. */
export function startRedis(options: RedisOptions = {}): Promise<RunningServer> {
  return resolveServer(redisKind(options))
}

/** A standalone Redis started by the tests even when `REDIS_URL` is set (tests that stop or restart it). */
export function startOwnRedis(options: RedisOptions = {}): Promise<RunningServer> {
  return startOwnServer(redisKind(options))
}
