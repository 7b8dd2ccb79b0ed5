import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { findBinary } from './binaries.js'
import { freePorts } from './free-port.js'
import { missingServerError } from './missing-server-error.js'
import { delay, probes } from './probe.js'
import { startProcessServer } from './process-server.js'
import { redisCommand } from './redis-command.js'
import type { RunningServer } from './running-server.js'

/** Options for {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Number of masters (default 3, at least 3; no replicas). */
  masters?: number
}

/** A running Redis Cluster. */
export interface RedisCluster {
  /** One server per master, in slot order of creation. */
  nodes: RunningServer[]
  /** URL of the first node (`redis://127.0.0.1:PORT`). */
  url: string
  /** Stops every node. */
  stop(): Promise<void>
}

const execFileAsync = promisify(execFile)

/** Starts one cluster-enabled node on `port`, its cluster bus on `busPort`. */
function startNode(serverBinary: string, port: number, busPort: number): Promise<RunningServer> {
  return startProcessServer({
    kind: 'redis-cluster-node',
    binary: serverBinary,
    port,
    args: (nodePort, dir) => [
      '--port',
      String(nodePort),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `${dir}/nodes.conf`,
      '--cluster-port',
      String(busPort),
      '--cluster-node-timeout',
      '5000',
    ],
    probe: probes.redis,
    url: (host, nodePort) => `redis://${host}:${nodePort}`,
  })
}

/** Joins the nodes into one cluster with `redis-cli --cluster create`, every node a master. */
async function createCluster(cliBinary: string, nodes: readonly RunningServer[]): Promise<void> {
  const addresses = nodes.map((node) => `${node.host}:${node.port}`)
  await execFileAsync(
    cliBinary,
    ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
    {
      timeout: 30_000,
    },
  ).catch((error: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(
      `test-servers: redis-cli --cluster create failed: ${error.message}\n${error.stdout ?? ''}`,
    )
  })
}

/**
 * A Redis Cluster of `masters` local `redis-server` processes (no containers: their
 * announced addresses would not be reachable from the host), created with
 * `redis-cli --cluster create` and returned once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`test-servers: a Redis Cluster needs at least 3 masters, got ${masters}`)
  }
  const serverBinary = findBinary('redis-server')
  if (serverBinary === undefined) throw missingServerError('a Redis Cluster', 'redis-server')
  const cliBinary = findBinary('redis-cli')
  if (cliBinary === undefined) throw missingServerError('a Redis Cluster', 'redis-cli (package redis-tools)')

  const nodes: RunningServer[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()))
  }
  try {
    // The cluster bus ports are chosen explicitly: the default (port + 10000) can exceed 65535.
    const ports = await freePorts(masters * 2)
    for (let index = 0; index < masters; index++) {
      nodes.push(await startNode(serverBinary, ports[index * 2]!, ports[index * 2 + 1]!))
    }
    await createCluster(cliBinary, nodes)
    await waitForClusterOk(nodes, masters)
  } catch (error) {
    await stop()
    throw error
  }
  return { nodes, url: nodes[0]?.url ?? '', stop }
}

/** Polls CLUSTER INFO on every node until all report state ok and know every master (30 s deadline). */
async function waitForClusterOk(nodes: RunningServer[], masters: number): Promise<void> {
  const deadline = Date.now() + 30_000
  let last = ''
  for (;;) {
    const infos = await Promise.all(
      nodes.map((node) =>
        redisCommand(node.host, node.port, 'CLUSTER', 'INFO').catch((error: Error) => error.message),
      ),
    )
    const ready = infos.every(
      (info) =>
        typeof info === 'string' &&
        info.includes('cluster_state:ok') &&
        info.includes(`cluster_known_nodes:${masters}\r`) &&
        info.includes('cluster_slots_assigned:16384'),
    )
    if (ready) return
    last = infos.map(String).join('\n---\n')
    if (Date.now() > deadline) throw new Error(`test-servers: Redis Cluster not ok within 30 s:\n${last}`)
    await delay(100)
  }
}
