import {
  type Backplane,
  type BackplaneListener,
  ClosedError,
  InvalidOptionsError,
  resolveMaxSilenceMs,
} from '@cacheplane/core'
import type { ConnectionOptions } from '@nats-io/transport-node'
import { type ConnectionMonitor, monitorConnection } from './connection-monitor.js'
import { startCoreTransport } from './core-transport.js'
import type { FrameTransport } from './frame-transport.js'
import { type ConnectionProbe, probeConnection } from './liveness-probe.js'
import type { NatsConnectionLike } from './nats-connection.js'
import { checkOptions, checkReplay, type NatsBackplaneOptions, replaySettings } from './nats-options.js'
import { startReplayTransport } from './replay-transport.js'
import { channelSubject, validateSubjectPrefix } from './subject.js'

/** NATS's default `max_payload`, used until the server has told us its own. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/**
 * Connects to `servers`. Core does not retry `connect()`, so a NATS outage at startup must
 * not leave the cache without a backplane for good: while no server answers we report
 * `disconnected` and keep trying (the cache works meanwhile, and core reports a gap for
 * anything it cached before the subscription was live). Anything but a connection failure
 * (a malformed URL, bad credentials) is thrown at once.
 */
async function openConnection(
  servers: string | readonly string[],
  name: string,
  extra: Omit<ConnectionOptions, 'servers'> | undefined,
  listener: BackplaneListener,
  isClosed: () => boolean,
): Promise<NatsConnectionLike> {
  const { connect } = await import('@nats-io/transport-node')
  for (let attempt = 0; ; attempt++) {
    try {
      // Reconnect forever once connected: every reconnect becomes a gap for core.
      const connection = await connect({
        name,
        maxReconnectAttempts: -1,
        ...extra,
        servers: [...[servers].flat()],
      })
      if (attempt > 0) listener.onState('connected')
      return connection
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'ConnectionError' || isClosed()) throw err
      if (attempt === 0) listener.onState('disconnected')
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5_000)))
      if (isClosed())
        throw new ClosedError(`natsBackplane '${name}' was closed while connecting`, { source: name })
    }
  }
}

/**
 * A backplane over NATS: one subject per cache channel, gaps reported on every
 * reconnect (a `failover` when the client moved to another server), and with
 * `replay` the missed frames are fetched back from a JetStream stream instead.
 */
export function natsBackplane(options: NatsBackplaneOptions) {
  checkOptions(options)
  if (options.replay !== undefined) checkReplay(options.replay)
  const prefix = options.subjectPrefix ?? 'cacheplane.'
  validateSubjectPrefix(prefix)
  const name = options.name ?? 'nats'
  const maxSilenceMs = resolveMaxSilenceMs(options.maxSilenceMs, 'natsBackplane')
  let connection: NatsConnectionLike | undefined = options.connection
  let owned = false
  let transport: FrameTransport | undefined
  let monitor: ConnectionMonitor | undefined
  let probe: ConnectionProbe | undefined
  /** Connected, but the liveness probe got no answer in time. */
  let suspect = false
  let connecting = false
  let connected = false
  let closed = false
  let maxFrameBytes = options.connection?.info?.max_payload ?? DEFAULT_MAX_PAYLOAD

  /** Probes the connection; a silence is `suspect` until the client reconnects (or answers again). */
  const watchLiveness = (nc: NatsConnectionLike, listener: BackplaneListener, started: FrameTransport) =>
    probeConnection(nc, maxSilenceMs, {
      suspect() {
        if (!connected || suspect || closed) return
        suspect = true
        listener.onState('suspect')
      },
      live(detail) {
        if (!connected || !suspect || closed) return
        suspect = false
        listener.onState('connected')
        started.reconnected('silence', detail)
      },
    })

  const backplane = {
    name,
    capabilities: {
      replay: options.replay !== undefined,
      /** The server's `max_payload` once known. */
      get maxFrameBytes() {
        return maxFrameBytes
      },
      maxSilenceMs,
    },

    async connect(channel, listener) {
      if (closed) throw new ClosedError(`natsBackplane '${name}' is closed`, { source: name })
      if (connecting)
        throw new InvalidOptionsError(`natsBackplane '${name}': connect() may be called only once`)
      connecting = true
      const subject = channelSubject(prefix, channel)
      const replay = options.replay === undefined ? undefined : replaySettings(subject, options.replay)
      if (connection === undefined && options.servers !== undefined) {
        connection = await openConnection(
          options.servers,
          name,
          options.connectOptions,
          listener,
          () => closed,
        )
        owned = true
      }
      if (connection === undefined) throw new InvalidOptionsError('natsBackplane: no connection')
      const nc = connection
      connected = !nc.isClosed()
      maxFrameBytes = nc.info?.max_payload ?? maxFrameBytes
      // A reconnect while the transport is still starting is handed to it once it runs.
      let missedReconnect: { reason: 'reconnect' | 'failover'; detail: string } | undefined
      monitor = monitorConnection(nc, {
        disconnected() {
          connected = false
          suspect = false
          listener.onState('disconnected')
        },
        reconnected(reason, detail) {
          connected = true
          suspect = false
          maxFrameBytes = nc.info?.max_payload ?? maxFrameBytes
          listener.onState('connected')
          if (transport === undefined) missedReconnect = { reason, detail }
          else transport.reconnected(reason, detail)
        },
        closed() {
          connected = false
          probe?.stop()
          if (!closed) listener.onState('disconnected')
        },
      })
      let started: FrameTransport
      try {
        if (closed)
          throw new ClosedError(`natsBackplane '${name}' was closed while connecting`, { source: name })
        started =
          replay === undefined
            ? await startCoreTransport(nc, subject, listener)
            : await startReplayTransport(nc, subject, replay, listener, () => connected)
      } catch (err) {
        monitor.stop()
        if (owned) await nc.close()
        throw err
      }
      if (closed) {
        // close() ran while we were subscribing and found nothing to release: release it here.
        await started.stop()
        if (owned) await nc.close()
        throw new ClosedError(`natsBackplane '${name}' was closed while connecting`, { source: name })
      }
      transport = started
      probe = watchLiveness(nc, listener, started)
      if (missedReconnect !== undefined) started.reconnected(missedReconnect.reason, missedReconnect.detail)
    },

    async publish(frame) {
      if (closed) throw new ClosedError(`natsBackplane '${name}' is closed`, { source: name })
      if (transport === undefined)
        throw new Error(`natsBackplane '${name}': publish() before connect() finished`)
      // The client would buffer the frame until it reconnects, and the caller could not tell whether it
      // ever reached the server; refusing now lets core retry (and, meanwhile, its gap policy applies).
      if (!connected || suspect)
        throw new Error(`natsBackplane '${name}': not connected to a NATS server; frame not sent`)
      await transport.publish(frame)
    },

    async close() {
      if (closed) return
      closed = true
      monitor?.stop()
      probe?.stop()
      await transport?.stop()
      if (owned) await connection?.close()
    },
  } satisfies Backplane
  return backplane
}
