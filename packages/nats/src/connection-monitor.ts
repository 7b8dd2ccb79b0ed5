import { type NatsConnectionLike, statusServer } from './nats-connection.js'

/** What the monitor reports. */
export interface ConnectionEvents {
  /** The client lost its server; it is trying to reconnect. */
  disconnected(): void
  /** The client is connected again. `failover` when it now talks to a different server address. */
  reconnected(reason: 'reconnect' | 'failover', detail: string): void
  /** The connection closed for good (and not because we closed it). */
  closed(): void
}

/** A running watch over a connection's status events. */
export interface ConnectionMonitor {
  /** Stops watching; no further events are reported. */
  stop(): void
}

/**
 * Follows `connection.status()`. The client re-establishes subscriptions by itself
 * after a reconnect, but whatever was published while it was away is lost for
 * core NATS, so every reconnect is reported and the backplane turns it into a gap.
 * A reconnect to another address (a cluster member taking over) is a `failover`;
 * a new server id on the same address is a restart of that server.
 */
export function monitorConnection(
  connection: NatsConnectionLike,
  events: ConnectionEvents,
): ConnectionMonitor {
  let stopped = false
  let server = connection.getServer()
  let serverId = connection.info?.server_id
  const statuses = connection.status()

  void (async () => {
    for await (const status of statuses) {
      if (stopped) break
      if (status.type === 'disconnect') {
        events.disconnected()
      } else if (status.type === 'reconnect') {
        const now = statusServer(status, connection.getServer())
        const nowId = connection.info?.server_id
        const reason = now === server ? 'reconnect' : 'failover'
        const detail = `reconnected to ${now} (was ${server}; server id ${serverId ?? '?'} -> ${nowId ?? '?'})`
        server = now
        serverId = nowId
        events.reconnected(reason, detail)
      }
    }
  })().catch(() => {
    // The status iterator only fails when the connection is torn down; `closed()` below reports that.
  })
  void connection.closed().then(() => {
    if (!stopped) events.closed()
  })

  return {
    stop() {
      stopped = true
      // Both client lines hand out a queued iterator with `stop()`; ending it lets the loop above finish.
      const stoppable = statuses as AsyncIterable<unknown> & { stop?: () => void }
      stoppable.stop?.()
    },
  }
}
