// Public API of @cacheplane/nats.

export { type NatsBackplaneOptions, type NatsReplayOptions, natsBackplane } from './nats-backplane.js'
export type {
  NatsConnectionLike,
  NatsMsgLike,
  NatsServerInfoLike,
  NatsStatusLike,
  NatsSubscribeOptionsLike,
  NatsSubscriptionLike,
} from './nats-connection.js'
