/**
 * The part of a NATS connection the backplane uses, typed structurally so that a
 * connection from the maintained client (`@nats-io/transport-node` v3) and one from
 * the older `nats` package (v2) both fit: they share these members.
 */
export interface NatsConnectionLike {
  /** What the server said about itself when the connection was (re)established. */
  readonly info?: NatsServerInfoLike | undefined
  /** Fire-and-forget publish; buffered by the client while it reconnects. */
  publish(subject: string, payload?: Uint8Array): void
  /** Subscribes; the callback receives every message on `subject`. */
  subscribe(subject: string, options?: NatsSubscribeOptionsLike): NatsSubscriptionLike
  /** Resolves when the server has answered a PING sent after everything published so far. */
  flush(): Promise<void>
  /** Connection status events (`disconnect`, `reconnect`, ...), one iterator per call. */
  status(): AsyncIterable<NatsStatusLike>
  /** `host:port` of the server the client is connected to. */
  getServer(): string
  /** True once the connection is closed for good. */
  isClosed(): boolean
  /** Closes the connection. */
  close(): Promise<void>
  /** Settles when the connection closed for good (with the error that closed it, if any). */
  closed(): Promise<unknown>
  /** Drops the connection and reconnects; used to replace a silent connection. */
  reconnect?(): Promise<void>
}

/** The fields of the server's INFO the backplane reads. */
export interface NatsServerInfoLike {
  /** Random id of the server process. */
  readonly server_id: string
  /** Largest payload the server accepts, bytes. */
  readonly max_payload: number
}

/** A status event: v3 puts the server in `server`, v2 in `data`. */
export interface NatsStatusLike {
  /** `disconnect`, `reconnect`, `reconnecting`, `update`, `ldm`, `error`, ... */
  readonly type: string
  /** v3: the server involved. */
  readonly server?: unknown
  /** v2: the server involved (a string) or other event data. */
  readonly data?: unknown
}

/** Subscription options: the backplane always passes a callback. */
export interface NatsSubscribeOptionsLike {
  /** Called for every message, in order. */
  callback?: (err: Error | null, msg: NatsMsgLike) => void
}

/** A received message. */
export interface NatsMsgLike {
  /** The payload. */
  readonly data: Uint8Array
}

/** A subscription. */
export interface NatsSubscriptionLike {
  /** Stops the subscription. */
  unsubscribe(): void
}

/** The server a `reconnect` status event names, whatever the client version. */
export function statusServer(status: NatsStatusLike, fallback: string): string {
  if (typeof status.server === 'string') return status.server
  if (typeof status.data === 'string') return status.data
  return fallback
}
