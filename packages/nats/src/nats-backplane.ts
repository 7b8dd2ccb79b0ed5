import {
  type Backplane,
  type BackplaneSubscription,
  ClosedError,
  resolveMaxSilenceMs,
} from '@cacheplane/core'
import { ChannelSubscription } from './channel-subscription.js'
import { checkOptions, checkReplay, type NatsBackplaneOptions, replaySettings } from './nats-options.js'
import { SharedConnection } from './shared-connection.js'
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
  const prefix = options.prefix ?? 'cacheplane.'
  validateSubjectPrefix(prefix)
  const name = options.name ?? 'nats'
  const maxSilenceMs = resolveMaxSilenceMs(options.maxSilenceMs, 'natsBackplane')
  const shared = new SharedConnection({
    name,
    client: options.client,
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
      const subscription: ChannelSubscription = new ChannelSubscription({
        name,
        shared,
        subject,
        replay,
        listener,
        onClose: () => open.delete(subscription),
      })
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
