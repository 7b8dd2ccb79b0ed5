/**
 * Which Redis handles send their writes in order with a backplane's publishes
 * (`Backplane.ordersAfter` in core). Redis runs one connection's commands in the order they
 * arrived, and delivers a PUBLISH to subscribers as it runs it: a frame published on the
 * connection a SET was sent on reaches no subscriber before the SET is applied. A handle and
 * a backplane given the same standalone client share that connection; core then announces a
 * `set` (a `remove`) as soon as its SET (UNLINK) is sent instead of after the reply, a round
 * trip sooner.
 *
 * The handle sends its SET before `set` returns (`sendRequest` is synchronous up to the
 * client). An auto-pipelining client keeps the order too: both commands go through `call`
 * into its one pipeline of the tick, and its pipelines run one after the other, unless the
 * application exempts one of them (`autoPipeliningIgnoredCommands`: that one would go out
 * at once, ahead of the pipeline). Never on a Cluster: a PUBLISH and a SET go to different
 * nodes.
 */
import { isCluster, type RedisClient } from './redis-connection.js'

/** The client each Redis handle sends its writes on. */
const writeClients = new WeakMap<object, RedisClient>()

/** Records the client `handle` writes with (called by the handle's constructor). */
export function registerWriteClient(handle: object, client: RedisClient): void {
  writeClients.set(handle, client)
}

/** A frame published on `client` reaches no subscriber before a write `handle` sent earlier is applied. */
export function publishesInOrderWith(handle: object, client: RedisClient): boolean {
  if (writeClients.get(handle) !== client || isCluster(client)) return false
  const { enableAutoPipelining, autoPipeliningIgnoredCommands: exempt = [] } = client.options
  return enableAutoPipelining !== true || !ORDERED_COMMANDS.some((command) => exempt.includes(command))
}

/** The commands whose order matters: the handle's SET and UNLINK, the backplane's PUBLISH or SPUBLISH. */
const ORDERED_COMMANDS = ['set', 'unlink', 'publish', 'spublish']
