import { LivenessProbe } from '@cacheplane/core'

/** The part of a NATS connection the probe uses. */
export interface ProbedConnection {
  /** A PING to the server; resolves on its PONG. */
  flush(): Promise<void>
  /** Drops the connection and reconnects (both client lines have it; optional for look-alikes). */
  reconnect?(): Promise<void>
}

/** What the probe reports. */
export interface LivenessEvents {
  /** No PONG within `maxSilenceMs`: the connection is silent although it looks open. */
  suspect(detail: string): void
  /** A PONG arrived after `suspect` without a reconnect (a client that cannot reconnect on demand). */
  live(detail: string): void
}

/** A running probe. */
export interface ConnectionProbe {
  /** Stops probing. */
  stop(): void
}

/**
 * Flushes (PING/PONG) the connection on core's `LivenessProbe` timer and reports silence. On a
 * silence it also makes the client reconnect: a fresh connection is the only proof that the
 * subscription is live again, and the client then rejects the flushes the silent connection
 * left pending, so a publish that never reached the server fails and core retries it. The
 * client's own pings (`pingInterval`, 2 minutes by default) would take far longer to notice.
 */
export function probeConnection(
  connection: ProbedConnection,
  maxSilenceMs: number,
  events: LivenessEvents,
): ConnectionProbe {
  return new LivenessProbe({
    maxSilenceMs,
    roundTrip: () => connection.flush(),
    onSuspect: (detail) => {
      events.suspect(detail)
      connection.reconnect?.().catch(() => {
        // Closed or draining: the connection monitor reports what follows.
      })
    },
    onLive: (detail) => events.live(detail),
  })
}
