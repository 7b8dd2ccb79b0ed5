// Public API of @cacheplane/nats.

export { natsBackplane } from './nats-backplane.js'
export type { NatsBackplaneOptions, NatsReplayOptions } from './nats-options.js'
export type {
  NatsConnectionLike,
  NatsMsgLike,
  NatsServerInfoLike,
  NatsStatusLike,
  NatsSubscribeOptionsLike,
  NatsSubscriptionLike,
} from './nats-connection.js'
