import { findBinary } from './binaries.js'
import { freePorts } from './free-port.js'
import { getJson } from './http-json.js'
import { missingServerError } from './missing-server-error.js'
import { delay, probes } from './probe.js'
import { startProcessServer } from './process-server.js'
import type { RunningServer } from './running-server.js'

/** Options for {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Number of servers (default 3, at least 2). */
  size?: number
  /** Enable clustered JetStream (default true); each server stores in its own temporary directory. */
  jetstream?: boolean
}

/** A running NATS cluster. */
export interface NatsCluster {
  /** One server per node. */
  nodes: RunningServer[]
  /** Client URLs of the nodes (`nats://127.0.0.1:PORT`). */
  urls: string[]
  /** Stops every node. */
  stop(): Promise<void>
}

interface NodePorts {
  client: number
  route: number
  monitor: number
}

/** A client, a route and a monitoring port for each of `size` nodes. */
async function pickPorts(size: number): Promise<NodePorts[]> {
  const picked = await freePorts(size * 3)
  return Array.from({ length: size }, (_, index) => ({
    client: picked[index * 3]!,
    route: picked[index * 3 + 1]!,
    monitor: picked[index * 3 + 2]!,
  }))
}

/** What every node of one cluster shares. */
interface ClusterPlan {
  readonly binary: string
  readonly clusterName: string
  /** Every node's route URL, comma-separated. */
  readonly routes: string
  readonly jetstream: boolean
}

/** Starts node `index`; resolves once its client port answers. */
function startNode(plan: ClusterPlan, node: NodePorts, index: number): Promise<RunningServer> {
  const serverName = `${plan.clusterName}-n${index + 1}`
  return startProcessServer({
    kind: 'nats-cluster-node',
    binary: plan.binary,
    port: node.client,
    args: (port, dir) => [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-m',
      String(node.monitor),
      '--server_name',
      serverName,
      '--cluster_name',
      plan.clusterName,
      '--cluster',
      `nats://127.0.0.1:${node.route}`,
      '--routes',
      plan.routes,
      ...(plan.jetstream ? ['-js', '-sd', dir] : []),
    ],
    probe: () => probes.nats(serverName),
    url: (host, port) => `nats://${host}:${port}`,
  })
}

/**
 * A NATS cluster of local `nats-server` processes with full-mesh routes, returned once every
 * node sees all the others (monitoring `/routez`) and, with JetStream, a meta leader is elected.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3
  const jetstream = options.jetstream ?? true
  if (!Number.isInteger(size) || size < 2)
    throw new Error(`test-servers: a NATS cluster needs at least 2 nodes, got ${size}`)
  const binary = findBinary('nats-server')
  if (binary === undefined) throw missingServerError('a NATS cluster', 'nats-server')

  const ports = await pickPorts(size)
  const plan: ClusterPlan = {
    binary,
    clusterName: `cacheplane-${process.pid}-${ports[0]?.client}`,
    routes: ports.map((node) => `nats://127.0.0.1:${node.route}`).join(','),
    jetstream,
  }
  const nodes: RunningServer[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()))
  }
  try {
    // Started together: each waits for its client port only, and routes reconnect on their own.
    const started = await Promise.allSettled(ports.map((node, index) => startNode(plan, node, index)))
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value)
    const failure = started.find((result) => result.status === 'rejected')
    if (failure !== undefined) throw failure.reason
    await waitForMesh(ports, jetstream)
  } catch (error) {
    await stop()
    throw error
  }
  return { nodes, urls: nodes.map((node) => node.url), stop }
}

/** Polls the monitoring endpoints until every node routes to all others (and JetStream has a leader). */
async function waitForMesh(ports: NodePorts[], jetstream: boolean): Promise<void> {
  const deadline = Date.now() + 30_000
  let last = ''
  for (;;) {
    const states = await Promise.all(
      ports.map((node) => nodeState(node.monitor, ports.length - 1, jetstream)),
    )
    if (states.every((state) => state === 'ready')) return
    last = states.join('; ')
    if (Date.now() > deadline) throw new Error(`test-servers: NATS cluster not formed within 30 s: ${last}`)
    await delay(100)
  }
}

async function nodeState(monitorPort: number, peers: number, jetstream: boolean): Promise<string> {
  try {
    const routez = (await getJson(`http://127.0.0.1:${monitorPort}/routez`)) as {
      routes?: { remote_id?: string }[]
    }
    // A node can briefly hold two routes to one peer while they race to connect; count peers.
    const connected = new Set((routez.routes ?? []).map((route) => route.remote_id)).size
    if (connected < peers) return `:${monitorPort} routes to ${connected}/${peers} peers`
    if (!jetstream) return 'ready'
    const jsz = (await getJson(`http://127.0.0.1:${monitorPort}/jsz`)) as {
      meta_cluster?: { leader?: string; cluster_size?: number }
    }
    const leader = jsz.meta_cluster?.leader
    return leader === undefined || leader === '' ? `:${monitorPort} has no JetStream leader` : 'ready'
  } catch (error) {
    return `:${monitorPort} ${(error as Error).message}`
  }
}
