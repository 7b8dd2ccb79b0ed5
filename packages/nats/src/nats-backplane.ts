import {
  type Backplane,
  type BackplaneListener,
  type BackplaneSubscription,
  ClosedError,
  resolveMaxSilenceMs,
} from '@cacheplane/core'
import { startCoreTransport } from './core-transport.js'
import type { FrameTransport } from './frame-transport.js'
import {
  checkOptions,
  checkReplay,
  type NatsBackplaneOptions,
  type ReplaySettings,
  replaySettings,
} from './nats-options.js'
import { startReplayTransport } from './replay-transport.js'
import { type ConnectionUser, SharedConnection } from './shared-connection.js'
import { channelSubject, validateSubjectPrefix } from './subject.js'

/**
 * A backplane over NATS: one subject per cache channel, gaps reported on every
 * reconnect (a `failover` when the client moved to another server), and with
 * `replay` the missed frames are fetched back from a JetStream stream instead. One
 * backplane serves every cache of a process: one connection, one subscription (and with
 * replay one stream and consumer, so one position) per cache. The connection is flushed
 * every `maxSilenceMs / 2`; a silence makes every cache's channel `suspect` and the client
 * reconnect.
 */
export function natsBackplane(options: NatsBackplaneOptions) {
  checkOptions(options)
  if (options.replay !== undefined) checkReplay(options.replay)
  const prefix = options.subjectPrefix ?? 'cacheplane.'
  validateSubjectPrefix(prefix)
  const name = options.name ?? 'nats'
  const maxSilenceMs = resolveMaxSilenceMs(options.maxSilenceMs, 'natsBackplane')
  const shared = new SharedConnection({
    name,
    connection: options.connection,
    servers: options.servers,
    connectOptions: options.connectOptions,
    maxSilenceMs,
  })
  const open = new Set<BackplaneSubscription>()
  let closed = false

  const backplane = {
    name,
    capabilities: {
      replay: options.replay !== undefined,
      multiplex: true,
      /** The server's `max_payload` once known. */
      get maxFrameBytes() {
        return shared.maxPayload
      },
      maxSilenceMs,
    },

    connect(channel, listener) {
      if (closed) throw new ClosedError(`natsBackplane '${name}' is closed`, { source: name })
      const subject = channelSubject(prefix, channel)
      const replay = options.replay === undefined ? undefined : replaySettings(subject, options.replay)
      const subscription = subscribe(name, shared, subject, replay, listener, () => open.delete(subscription))
      open.add(subscription)
      return subscription
    },

    async close() {
      if (closed) return
      closed = true
      await Promise.all([...open].map((subscription) => subscription.close()))
      await shared.close()
    },
  } satisfies Backplane
  return backplane
}

/** One channel on the shared connection: its own core NATS subscription or JetStream consumer. */
function subscribe(
  name: string,
  shared: SharedConnection,
  subject: string,
  replay: ReplaySettings | undefined,
  listener: BackplaneListener,
  onClose: () => void,
): BackplaneSubscription {
  let transport: FrameTransport | undefined
  let active = true
  // A reconnect while the transport is still starting is handed to it once it runs.
  let missedReconnect: { reason: 'reconnect' | 'failover' | 'silence'; detail: string } | undefined
  const user: ConnectionUser = {
    onState: (state) => {
      if (active) listener.onState(state)
    },
    reconnected(reason, detail) {
      if (!active) return
      if (transport === undefined) missedReconnect = { reason, detail }
      else transport.reconnected(reason, detail)
    },
  }
  const closedError = () =>
    new ClosedError(`natsBackplane '${name}': the subscription is closed`, { source: name })

  const start = async (): Promise<void> => {
    const nc = await shared.attach(user)
    let started: FrameTransport
    try {
      if (!active) throw closedError()
      started =
        replay === undefined
          ? await startCoreTransport(nc, subject, listener)
          : await startReplayTransport(nc, subject, replay, listener, () => shared.connected)
    } catch (err) {
      await shared.detach(user)
      throw err
    }
    if (!active) {
      // close() ran while we were subscribing and found nothing to release: release it here.
      await started.stop()
      throw closedError()
    }
    transport = started
    if (missedReconnect !== undefined) started.reconnected(missedReconnect.reason, missedReconnect.detail)
  }
  const ready = start()
  // Awaited by the subscription's owner; a rejection nobody awaits must not crash the process.
  ready.catch(() => {})

  return {
    ready,
    async publish(frame) {
      if (!active) throw closedError()
      if (transport === undefined)
        throw new Error(`natsBackplane '${name}': publish() before the subscription was ready`)
      // The client would buffer the frame until it reconnects, and the caller could not tell whether it
      // ever reached the server; refusing now lets core retry (and, meanwhile, its gap policy applies).
      // A silent (suspect) connection would swallow the frame just the same.
      if (!shared.connected || shared.suspect)
        throw new Error(`natsBackplane '${name}': not connected to a NATS server; frame not sent`)
      await transport.publish(frame)
    },
    async close() {
      if (!active) return
      active = false
      onClose()
      await transport?.stop()
      await shared.detach(user)
    },
  }
}
