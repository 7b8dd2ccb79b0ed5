import { probes } from './probe.js'
import { resolveServer, type ServerKind, startOwnServer } from './resolve-server.js'
import type { RunningServer } from './running-server.js'

/** Pinned image used when a container engine is reachable. */
export const memcachedImage = 'memcached:1.6.29-alpine'

/** Options for {@link startMemcached}. */
export interface MemcachedOptions {
  /** Memory limit in MB (`-m`, default 64). */
  memoryMb?: number
  /** Largest item size (`-I`, e.g. '1m'; server default 1m). */
  maxItemSize?: string
}

const memcachedUrl = (host: string, port: number): string => `${host}:${port}`

function memcachedKind(options: MemcachedOptions): ServerKind {
  const limits = ['-m', String(options.memoryMb ?? 64)]
  if (options.maxItemSize !== undefined) limits.push('-I', options.maxItemSize)
  // memcached refuses to run as root unless told which user to be.
  const user = process.getuid?.() === 0 ? ['-u', 'root'] : []
  return {
    name: 'Memcached',
    envName: 'MEMCACHED_URL',
    defaultPort: 11211,
    binaryName: 'memcached',
    container: () => ({
      image: memcachedImage,
      containerPort: 11211,
      command: ['memcached', ...limits],
      url: memcachedUrl,
    }),
    process: (binary) => ({
      kind: 'memcached',
      binary,
      args: (port) => ['-l', '127.0.0.1', '-p', String(port), '-U', '0', ...limits, ...user],
      probe: probes.memcached,
      url: memcachedUrl,
    }),
  }
}

/**
 * A Memcached server: `MEMCACHED_URL` (comma-separated servers allowed; url keeps the list,
 * host/port are the first), else a container, else the local `memcached`. URL `host:port`.
 */
export function startMemcached(options: MemcachedOptions = {}): Promise<RunningServer> {
  return resolveServer(memcachedKind(options))
}

/** A Memcached server started by the tests even when `MEMCACHED_URL` is set. */
export function startOwnMemcached(options: MemcachedOptions = {}): Promise<RunningServer> {
  return startOwnServer(memcachedKind(options))
}
