import { InvalidOptionsError } from '@cacheplane/core'
import type { ConnectionOptions } from '@nats-io/transport-node'
import type { NatsConnectionLike } from './nats-connection.js'
import { defaultStreamName, validateStreamName } from './subject.js'

/** JetStream replay of missed frames; see the package README for what it guarantees. */
export interface NatsReplayOptions {
  /** How long the stream keeps each frame, ms: an instance away for longer clears its local handles. */
  readonly maxAgeMs: number
  /** Stream name; default derived from the subject. Each cache needs its own stream. */
  readonly stream?: string
  /** `file` (default: survives a server restart when its store directory does) or `memory`. */
  readonly storage?: 'file' | 'memory'
  /** Stream replicas in a JetStream cluster; default 1. */
  readonly replicas?: number
  /** How long stream setup or a replay may keep failing and retrying before `connect()` fails or the gap is reported unrecovered, ms; default 10_000. */
  readonly timeoutMs?: number
}

/** Replay settings after defaults were applied. */
export interface ReplaySettings {
  /** JetStream stream that holds this channel's frames. */
  readonly stream: string
  /** How long the stream keeps a frame, ms. */
  readonly maxAgeMs: number
  /** Where the server keeps the stream. */
  readonly storage: 'file' | 'memory'
  /** Stream replicas (JetStream cluster). */
  readonly replicas: number
  /** Longest a replay may take before the gap is reported as unrecovered, ms. */
  readonly timeoutMs: number
}

interface NatsBackplaneCommonOptions {
  /** Prepended to the channel to form the subject; default `cacheplane.`. */
  readonly prefix?: string
  /** Name for stats and events, and the NATS connection name when we open it; default `nats`. */
  readonly name?: string
  /** Turns on JetStream replay (needs `@nats-io/jetstream` and a JetStream-enabled server). */
  readonly replay?: NatsReplayOptions
  /**
   * Longest a dead or silent connection goes unnoticed, ms (default 1,500): the connection is
   * flushed (PING/PONG) every `maxSilenceMs / 2`; a PONG missing for as long again reports
   * `suspect` and makes the client reconnect. One round trip per instance, to the server only.
   */
  readonly maxSilenceMs?: number
}

/** Options of {@link natsBackplane}: an existing client (connection), or servers to connect to. */
export type NatsBackplaneOptions = NatsBackplaneCommonOptions &
  (
    | {
        /** A connection the application owns (`@nats-io/transport-node`, or the `nats` package without replay); never closed by us. */
        readonly client: NatsConnectionLike
        readonly servers?: undefined
        readonly connectOptions?: undefined
      }
    | {
        /** Server URLs; the backplane connects, reconnects forever, and closes the connection on `close()`. */
        readonly servers: string | readonly string[]
        /** Extra options for `connect()` (credentials, TLS, timeouts). */
        readonly connectOptions?: Omit<ConnectionOptions, 'servers'>
        readonly client?: undefined
      }
  )

/** Throws InvalidOptionsError for malformed replay options. */
export function checkReplay(replay: NatsReplayOptions): void {
  const { maxAgeMs, storage = 'file', replicas = 1, timeoutMs = 10_000 } = replay
  if (!Number.isInteger(maxAgeMs) || maxAgeMs <= 0) {
    throw new InvalidOptionsError(
      `natsBackplane: replay.maxAgeMs must be a positive integer (ms), got ${maxAgeMs}`,
    )
  }
  if (storage !== 'file' && storage !== 'memory') {
    throw new InvalidOptionsError(
      `natsBackplane: replay.storage must be 'file' or 'memory', got '${storage}'`,
    )
  }
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new InvalidOptionsError(
      `natsBackplane: replay.replicas must be a positive integer, got ${replicas}`,
    )
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new InvalidOptionsError(`natsBackplane: replay.timeoutMs must be positive (ms), got ${timeoutMs}`)
  }
  if (replay.stream !== undefined) validateStreamName(replay.stream)
}

/** Replay options with defaults applied; the default stream name depends on the subject. */
export function replaySettings(subject: string, replay: NatsReplayOptions): ReplaySettings {
  const { maxAgeMs, storage = 'file', replicas = 1, timeoutMs = 10_000 } = replay
  return { stream: replay.stream ?? defaultStreamName(subject), maxAgeMs, storage, replicas, timeoutMs }
}

export function checkOptions(options: NatsBackplaneOptions): void {
  const hasClient = options.client !== undefined
  const hasServers = options.servers !== undefined
  if (hasClient === hasServers) {
    throw new InvalidOptionsError('natsBackplane: give exactly one of `client` or `servers`')
  }
  if (hasServers && [options.servers].flat().length === 0) {
    throw new InvalidOptionsError('natsBackplane: `servers` must name at least one server')
  }
  // @nats-io/jetstream drives internals only the v3 client has (close listeners among them).
  const client = options.client as { addCloseListener?: unknown } | undefined
  if (options.replay !== undefined && client !== undefined && typeof client.addCloseListener !== 'function') {
    throw new InvalidOptionsError(
      'natsBackplane: replay needs a `client` from @nats-io/transport-node (v3); ' +
        'a connection from the older `nats` package works only without replay',
    )
  }
}
