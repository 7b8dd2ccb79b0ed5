import { randomUUID } from 'node:crypto'
import { probes } from './probe.js'
import { resolveServer, type ServerKind, startOwnServer } from './resolve-server.js'
import type { RunningServer } from './running-server.js'

/** Pinned image used when a container engine is reachable. */
export const natsImage = 'nats:2.10.18-alpine'

/** Options for {@link startNats}. */
export interface NatsOptions {
  /** Enable JetStream (default true), stored in the server's temporary directory. */
  jetstream?: boolean
}

const natsUrl = (host: string, port: number): string => `nats://${host}:${port}`

/** A single NATS server: `NATS_URL`, else a container, else the local `nats-server`. URL `nats://host:port`. */
export function startNats(options: NatsOptions = {}): Promise<RunningServer> {
  return resolveServer(natsKind(options))
}

/** A NATS server started by the tests even when `NATS_URL` is set (tests that stop or restart it). */
export function startOwnNats(options: NatsOptions = {}): Promise<RunningServer> {
  return startOwnServer(natsKind(options))
}

function natsKind(options: NatsOptions): ServerKind {
  const jetstream = options.jetstream ?? true
  return {
    name: 'NATS',
    envName: 'NATS_URL',
    defaultPort: 4222,
    binaryName: 'nats-server',
    container: () => ({
      image: natsImage,
      containerPort: 4222,
      command: ['-p', '4222', ...(jetstream ? ['-js'] : [])],
      url: natsUrl,
    }),
    process: (binary) => {
      // A unique name lets the readiness probe recognise this very server.
      const serverName = `cacheplane-${randomUUID()}`
      return {
        kind: 'nats',
        binary,
        args: (port, dir) => [
          '-a',
          '127.0.0.1',
          '-p',
          String(port),
          '--server_name',
          serverName,
          ...(jetstream ? ['-js', '-sd', dir] : []),
        ],
        probe: () => probes.nats(serverName),
        url: natsUrl,
      }
    },
  }
}
