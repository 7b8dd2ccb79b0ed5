import { Cluster, type Redis, type RedisOptions } from 'ioredis'

/** True for an ioredis Cluster (duck-typed too, in case two copies of ioredis are installed). */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return client instanceof Cluster || (client as { isCluster?: boolean }).isCluster === true
}

/**
 * Calls `visit` on every connection of `client` that commands are written to: the client
 * itself when standalone; for a Cluster, each node connection it has and each it opens later.
 */
export function eachNodeConnection(client: Redis | Cluster, visit: (node: Redis) => void): void {
  if (!isCluster(client)) {
    visit(client)
    return
  }
  client.on('+node', visit)
  for (const node of client.nodes('all')) visit(node)
}

/** Host and port of the master that owns `slot` right now, asked from the cluster (CLUSTER SLOTS). */
export async function slotOwner(cluster: Cluster, slot: number): Promise<{ host: string; port: number }> {
  const ranges = (await cluster.cluster('SLOTS')) as unknown as Array<
    [number, number, [string, number, ...unknown[]]]
  >
  for (const [start, end, master] of ranges) {
    if (slot >= start && slot <= end) {
      const address = { host: master[0], port: Number(master[1]) }
      const mapped = natMapped(cluster, address)
      return mapped ?? address
    }
  }
  throw new Error(`no master serves slot ${slot} (the cluster is down or resharding)`)
}

/** Applies the cluster's `natMap` (nodes announce addresses the application may not reach directly). */
function natMapped(
  cluster: Cluster,
  address: { host: string; port: number },
): { host: string; port: number } | undefined {
  const natMap = cluster.options.natMap
  const key = `${address.host}:${address.port}`
  if (natMap === undefined) return undefined
  const entry = typeof natMap === 'function' ? natMap(key) : natMap[key]
  return entry === undefined || entry === null ? undefined : { host: entry.host, port: entry.port }
}

/** The options of a plain connection to one node of `cluster` (auth, TLS, timeouts of its nodes). */
export function nodeOptions(cluster: Cluster, address: { host: string; port: number }): RedisOptions {
  return { ...cluster.options.redisOptions, host: address.host, port: address.port }
}

/** The Redis version a server reports (major number), read from INFO server. */
export function majorVersion(info: string): number {
  const match = /redis_version:(\d+)/.exec(info)
  return match === null ? 0 : Number(match[1])
}

/**
 * The master connection ioredis currently routes `slot` to, or undefined when it does not
 * know yet. Keyless commands (PUBLISH) go to a random node otherwise, which would let
 * frames of one publisher overtake each other on their way through the cluster bus.
 */
export function masterForSlot(cluster: Cluster, slot: number): Redis | undefined {
  const nodeKey = cluster.slots[slot]?.[0]
  if (nodeKey === undefined) return undefined
  return cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === nodeKey)
}
