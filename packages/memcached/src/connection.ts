/**
 * How the handle's requests reach Memcached: through a memjs client's `perform`, so
 * server selection, sequence numbers, reconnects and memjs's own timeouts stay memjs's.
 * Two things are added on top:
 *
 * - a deadline on every request: memjs never settles a request whose connection is
 *   accepted and then closed without an error;
 * - writes coalesced per tick. memjs writes every request to its socket at once, one
 *   `write` syscall each; profiling a read loop at concurrency 64 put ~40% of the client's
 *   CPU in that syscall (`writeBuffer`). The first request of a tick corks the client's
 *   connected sockets and a `nextTick` uncorks them, so the requests issued by one batch
 *   of replies leave in one `writev` (the reads then cost less CPU than raw memjs `get`).
 *   memjs has no API for this: the socket is its `Server`'s `_socket` field. When a future
 *   memjs lacks it, requests are simply written one by one.
 */

import type { Client as MemjsClient, Response } from 'memjs'

/** Any memjs client: only its transport (`perform`, `incrSeq`, `seq`) is used, never its (de)serializer. */
export type Client = MemjsClient<unknown, unknown>

/** A request that did not settle within the handle's deadline. */
export class MemcachedTimeoutError extends Error {
  constructor(command: string, key: string, deadlineMs: number) {
    super(`memcached ${command} '${key}' did not answer within ${deadlineMs} ms`)
    this.name = 'MemcachedTimeoutError'
  }
}

/** What this module needs of a memjs `Server` (its socket is not in memjs's types). */
interface ServerInternals {
  readonly _socket?: Partial<Corkable>
}

interface Corkable {
  cork(): void
  uncork(): void
}

function uncorkAll(sockets: readonly Corkable[]): void {
  for (const socket of sockets) socket.uncork()
}

/** A memjs client and the deadline the handle puts on each of its requests. */
export class Connection {
  /** Sockets corked during the current tick, undefined when nothing is corked. */
  private corked: Corkable[] | undefined

  constructor(
    /** The memjs client whose transport carries the requests. */
    readonly client: Client,
    /** A request not settled after this many ms fails (memjs may never settle it). */
    readonly deadlineMs: number,
  ) {}

  /** The opaque (memjs's sequence number) of the next request; memjs pins callbacks to it. */
  nextOpaque(): number {
    this.client.incrSeq()
    // memjs wraps `seq` with `&= 0xffffffff`, which turns it negative after 2^31 requests;
    // the header field is unsigned (and memjs looks the callback up by the opaque the reply
    // carries, read unsigned), so the same unsigned value goes to both.
    return this.client.seq >>> 0
  }

  /**
   * Sends `request` (built with `opaque`) to the server of `key`; `read` turns the reply
   * into the result, or throws to reject (a module-level function taking the key: no
   * closure per request). `command` names the request in errors.
   */
  send<T>(
    command: string,
    key: string,
    request: Buffer,
    opaque: number,
    read: (response: Response, key: string) => T,
  ): Promise<T> {
    if (this.corked === undefined) this.cork()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new MemcachedTimeoutError(command, key, this.deadlineMs))
      }, this.deadlineMs)
      this.client.perform(key, request, opaque, (error: Error | string | null, response: Response) => {
        clearTimeout(timer)
        if (error !== null && error !== undefined) {
          // memjs reports some failures (SASL) as bare strings.
          reject(typeof error === 'string' ? new Error(`memcached: ${error}`) : error)
          return
        }
        // `read` runs here rather than in a `then`: one promise per request, not two.
        try {
          resolve(read(response, key))
        } catch (failure) {
          reject(failure)
        }
      })
    })
  }

  private cork(): void {
    const corked: Corkable[] = []
    for (const server of this.client.servers) {
      const socket = (server as ServerInternals)._socket
      if (typeof socket?.cork === 'function' && typeof socket.uncork === 'function') {
        socket.cork()
        corked.push(socket as Corkable)
      }
    }
    this.corked = corked
    process.nextTick(() => {
      this.corked = undefined
      uncorkAll(corked)
    })
  }
}
