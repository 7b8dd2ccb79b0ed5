import { LivenessProbe } from '@cacheplane/core'

/** The part of a subscriber connection the probe uses: PING is valid in subscriber mode. */
export interface PingableConnection {
  /** Sends PING; resolves with the server's answer. */
  ping(): Promise<unknown>
}

/** A running probe of one subscriber connection. */
export interface SubscriberProbe {
  /** Stops probing (the connection is gone or closing). */
  stop(): void
}

/**
 * PINGs the subscriber connection (one round trip at a time, see core's `LivenessProbe`) and
 * calls `onSilent` once when it goes unanswered for `maxSilenceMs`. The caller then drops the
 * connection and subscribes again on a new one: replies on a connection that lost a request
 * are matched to the wrong commands, and only a fresh SUBSCRIBE confirms the subscription.
 */
export function probeSubscriber(
  connection: PingableConnection,
  maxSilenceMs: number,
  onSilent: (detail: string) => void,
): SubscriberProbe {
  const probe = new LivenessProbe({
    maxSilenceMs,
    roundTrip: () => connection.ping(),
    onSuspect: (detail) => {
      probe.stop()
      onSilent(detail)
    },
    onLive: () => {}, // never reached: the connection is dropped at the first silence
  })
  return probe
}
