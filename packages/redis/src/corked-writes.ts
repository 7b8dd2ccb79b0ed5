/**
 * One socket write per event-loop tick for the commands of a connection we own.
 *
 * ioredis writes each command to the socket as it is sent, so 64 concurrent commands cost 64
 * write syscalls, where Redis would happily take them in one. Its auto-pipelining batches them,
 * but defers every batch to `setImmediate` (a lone command waits for the next turn of the event
 * loop) and builds a Pipeline object per batch. Corking the socket on the first command of a
 * tick and uncorking it on `process.nextTick` sends the same batch with one `writev` and no
 * delay: `process.nextTick` runs once the code that sent the commands and the promise
 * continuations it queued have run, before the event loop moves on. Measured with raw ioredis
 * SETs (tools/bench/profile/cork.mjs): at concurrency 64, 280-313k/s against 109-163k/s
 * auto-pipelined, a third of the CPU per command; at concurrency 1 the same as plain writes,
 * which auto-pipelining halves.
 *
 * It wraps `sendCommand` of the client instance (the one path every command and pipeline takes)
 * and uses the public `cork`/`uncork` of its socket, so a command sent while the client is not
 * connected goes to ioredis' offline queue as before.
 */
import type { Cluster, Redis } from 'ioredis'
import { eachNodeConnection } from './cluster-topology.js'

/** Marks a client already wrapped, so that a reconnect or a second call wraps nothing twice. */
const CORKED = Symbol('cacheplane.corkedWrites')

type Corkable = Redis & { [CORKED]?: true; stream?: NodeJS.WritableStream & { cork(): void; uncork(): void } }

/**
 * Batches the socket writes of `client` per tick; for a Cluster, of every node connection it
 * opens. Connections cacheplane opens get it already; call it on a `client` you give (with its
 * `enableAutoPipelining` off) for the same batching. Calling it twice changes nothing.
 */
export function corkWrites(client: Redis | Cluster): void {
  eachNodeConnection(client, corkNode)
}

function corkNode(node: Corkable): void {
  if (node[CORKED]) return
  node[CORKED] = true
  const send = node.sendCommand
  let corked: Corkable['stream'] | undefined
  const uncork = (): void => {
    const stream = corked
    corked = undefined
    stream?.uncork()
  }
  node.sendCommand = function corkedSend(this: Corkable, ...args: Parameters<Redis['sendCommand']>) {
    const stream = this.stream
    if (corked === undefined && stream !== undefined && this.status === 'ready') {
      corked = stream
      stream.cork()
      process.nextTick(uncork)
    }
    return send.apply(this, args)
  } as Redis['sendCommand']
}
