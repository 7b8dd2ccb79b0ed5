/**
 * The command timeout of the connections cacheplane opens, kept by one timer per connection.
 *
 * ioredis' own `commandTimeout` arms a `setTimeout` when a command is sent and clears it when
 * the reply comes: a timer object per command, in the hot path of every read and write.
 * Here one interval per connection (a quarter of the timeout) looks at the commands still
 * waiting in ioredis' queues: the offline queue (not sent yet), the command queue (sent, no
 * reply yet) and the commands kept for resending across a reconnect. It stamps each command
 * it sees for the first time with its tick, and rejects a command first seen a whole timeout
 * ago with ioredis' own error ("Command timed out"). A command answered between two ticks is
 * never touched, so a command costs nothing; one that waits fails between `timeoutMs` and
 * `timeoutMs` plus a quarter, never earlier.
 *
 * What the rejection does is what ioredis' timer does: the command's promise fails, and the
 * command stays in its queue until its reply (if any) arrives, so later replies still reach
 * their own commands. A connection whose ioredis does not expose these queues (another major
 * version) falls back to ioredis' `commandTimeout`.
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { eachNodeConnection, isCluster } from './cluster-topology.js'

/** Ticks per timeout: a command that waits fails within a quarter of the timeout past it. */
const TICKS = 4

/** The tick of the watchdog that first saw a command waiting ({@link EXPIRED} once it failed it). */
const SEEN = Symbol('cacheplane.commandSeen')

/** The stamp of a command the watchdog failed: never failed again while it waits for its reply. */
const EXPIRED = Number.POSITIVE_INFINITY

/** The timeout a client (and each node of a Cluster) was given; a node watched once arms one interval. */
const TIMEOUT = Symbol('cacheplane.commandTimeout')

/** A client or node {@link deadlineCommands} was called on. */
interface WithTimeout {
  [TIMEOUT]?: number
}

/** The part of an ioredis `Command` the watchdog uses. */
interface WaitingCommand {
  readonly isResolved: boolean
  reject(error: Error): void
  [SEEN]?: number
}

/** An ioredis queue (a `denque`) of waiting commands. */
interface CommandQueue {
  readonly length: number
  peekAt(index: number): { readonly command: WaitingCommand } | undefined
}

/** The queues of an ioredis connection (private in its types); `prevCommandQueue` holds what it resends after a reconnect. */
interface Queues {
  readonly offlineQueue?: CommandQueue
  readonly commandQueue?: CommandQueue
  readonly prevCommandQueue?: CommandQueue | null
}

/**
 * Fails the commands of `client` that wait longer than `timeoutMs` for their reply; for a
 * Cluster, of every node connection it opens, and of its own queue of commands waiting for
 * a node (where they would wait for ever while no startup node answers). The client must
 * not have ioredis' `commandTimeout` set (it would time the same commands twice).
 */
export function deadlineCommands(client: Redis | Cluster, timeoutMs: number): void {
  if (isCluster(client)) {
    const cluster = client as Cluster & WithTimeout
    if (cluster[TIMEOUT] !== undefined) return
    cluster[TIMEOUT] = timeoutMs
    const queues = cluster as unknown as Pick<Queues, 'offlineQueue'>
    if (isQueue(queues.offlineQueue)) watch(cluster, timeoutMs, () => [queues.offlineQueue])
  }
  eachNodeConnection(client, (node) => watchNode(node, timeoutMs))
}

/**
 * ioredis options for a connection duplicated from `client` or opened beside it (a
 * subscriber): the timeout {@link deadlineCommands} gave `client`, as ioredis' own
 * `commandTimeout`, which such a connection would not have otherwise. A subscriber sends
 * few commands, so a timer each costs nothing there.
 */
export function subscriberTimeout(client: Redis | Cluster): RedisOptions {
  const timeoutMs = (client as WithTimeout)[TIMEOUT]
  return timeoutMs === undefined ? {} : { commandTimeout: timeoutMs }
}

function watchNode(node: Redis & WithTimeout, timeoutMs: number): void {
  if (node[TIMEOUT] !== undefined) return
  node[TIMEOUT] = timeoutMs
  const queues = node as unknown as Queues
  if (!isQueue(queues.offlineQueue) || !isQueue(queues.commandQueue)) {
    node.options.commandTimeout = timeoutMs
    return
  }
  watch(node, timeoutMs, () => [queues.offlineQueue, queues.commandQueue, queues.prevCommandQueue])
}

/** Every quarter of `timeoutMs`, until `connection` ends, expires the commands waiting in `queues()` (read afresh: ioredis replaces them). */
function watch(
  connection: Redis | Cluster,
  timeoutMs: number,
  queues: () => readonly (CommandQueue | null | undefined)[],
): void {
  let tick = 0
  const timer = setInterval(() => {
    tick++
    for (const queue of queues()) expire(queue, tick)
  }, timeoutMs / TICKS)
  timer.unref()
  connection.once('end', () => clearInterval(timer))
}

function isQueue(queue: unknown): queue is CommandQueue {
  return typeof (queue as CommandQueue | undefined)?.peekAt === 'function'
}

/**
 * Stamps the commands of `queue` seen for the first time, and rejects those first seen
 * {@link TICKS} ticks ago. The whole queue is read: a reconnect can put commands stamped
 * long ago behind new ones, and the queue holds only what waits for a reply.
 */
function expire(queue: CommandQueue | null | undefined, tick: number): void {
  if (queue === null || queue === undefined) return
  for (let i = 0; i < queue.length; i++) {
    const command = queue.peekAt(i)?.command
    if (command === undefined || command.isResolved) continue
    const seen = command[SEEN]
    if (seen === undefined) command[SEEN] = tick
    else if (tick - seen >= TICKS) {
      command[SEEN] = EXPIRED
      command.reject(new Error('Command timed out'))
    }
  }
}
