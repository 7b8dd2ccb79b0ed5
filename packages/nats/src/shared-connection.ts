import { Backoff, type BackplaneState, ClosedError } from '@cacheplane/core'
import type { ConnectionOptions } from '@nats-io/transport-node'
import { type ConnectionMonitor, monitorConnection } from './connection-monitor.js'
import { type ConnectionProbe, probeConnection } from './liveness-probe.js'
import type { NatsConnectionLike } from './nats-connection.js'

/** NATS's default `max_payload`, used until the server has told us its own. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** Backoff between connect attempts while no server answers, ms. */
const CONNECT_BACKOFF = { baseDelayMs: 250, maxDelayMs: 5_000 }

/** One cache's view of the shared connection: what it must hear about it. */
export interface ConnectionUser {
  /** The connection changed state. */
  onState(state: BackplaneState): void
  /**
   * The client reconnected (`failover`: to another server), or a silent connection answered
   * again without reconnecting (`silence`); frames may have been missed.
   */
  reconnected(reason: 'reconnect' | 'failover' | 'silence', detail: string): void
}

/** Where the shared connection comes from: one the application gave, or servers we connect to. */
export interface SharedConnectionOptions {
  /** Backplane name: the connection name when we connect, and the source of errors. */
  readonly name: string
  /** The application's connection (its `client` option); never closed. */
  readonly client?: NatsConnectionLike | undefined
  /** Servers to connect to when no connection was given. */
  readonly servers?: string | readonly string[] | undefined
  /** Extra client options for a connection we open. */
  readonly connectOptions?: Omit<ConnectionOptions, 'servers'> | undefined
  /** Longest silence of the connection before every user hears `suspect`, ms. */
  readonly maxSilenceMs: number
}

/**
 * The one NATS connection of a backplane, shared by every cache on it: opened with the
 * first user (unless the application gave it), watched once, its disconnects and reconnects
 * fanned out to every user, and closed with the last user when we opened it (a later user
 * opens a new one). Per-channel subscriptions live in the transports, not here. Its liveness
 * is probed here too, once for every channel: a silent connection makes every user `suspect`
 * and the client reconnect (see {@link probeConnection}).
 */
export class SharedConnection {
  readonly #options: SharedConnectionOptions
  readonly #users = new Set<ConnectionUser>()
  #connection: NatsConnectionLike | undefined
  #opening: Promise<NatsConnectionLike> | undefined
  #monitor: ConnectionMonitor | undefined
  #probe: ConnectionProbe | undefined
  /** Connected, but the liveness probe got no answer in time. */
  #suspect = false
  #maxPayload: number
  #connected = false
  #closed = false
  /** Bumped on every release, so that a connect that finishes afterwards knows it is not wanted. */
  #generation = 0
  /** Aborted on every release, so that a connect loop waiting out its backoff gives up at once. */
  #released = new AbortController()

  /** Nothing is opened before the first `attach`. */
  constructor(options: SharedConnectionOptions) {
    this.#options = options
    this.#maxPayload = options.client?.info?.max_payload ?? DEFAULT_MAX_PAYLOAD
  }

  /** True while the client is connected to a server. */
  get connected(): boolean {
    return this.#connected
  }

  /** True while the connection looks open but did not answer the liveness probe in time. */
  get suspect(): boolean {
    return this.#suspect
  }

  /** The server's `max_payload` once known, bytes. */
  get maxPayload(): number {
    return this.#maxPayload
  }

  /** Connections open now: 0 or 1. */
  get open(): number {
    return this.#connection === undefined ? 0 : 1
  }

  /** Adds a user and resolves with the connection (opened on first use). */
  async attach(user: ConnectionUser): Promise<NatsConnectionLike> {
    if (this.#closed) throw this.#closedError()
    this.#users.add(user)
    this.#opening ??= this.#open()
    let connection: NatsConnectionLike
    try {
      connection = await this.#opening
    } catch (error) {
      this.#users.delete(user)
      throw error
    }
    if (!this.#users.has(user)) throw this.#closedError()
    return connection
  }

  /** Removes a user; the connection we opened closes with the last one. */
  async detach(user: ConnectionUser): Promise<void> {
    if (!this.#users.delete(user) || this.#users.size > 0) return
    await this.#release()
  }

  /** Closes for good: users hear nothing more, a connection we opened is closed. */
  async close(): Promise<void> {
    this.#closed = true
    this.#users.clear()
    await this.#release()
  }

  async #open(): Promise<NatsConnectionLike> {
    const { client: given, servers } = this.#options
    const generation = this.#generation
    try {
      const connection = given ?? (await this.#connect(servers ?? []))
      // Every user left (or close() ran) while we were connecting: nobody will release it.
      if (generation !== this.#generation || this.#idle()) {
        if (connection !== given) await connection.close()
        throw this.#closedError()
      }
      this.#connection = connection
      this.#connected = !connection.isClosed()
      this.#maxPayload = connection.info?.max_payload ?? this.#maxPayload
      this.#monitor = this.#watch(connection)
      this.#probe = this.#probeLiveness(connection)
      return connection
    } catch (error) {
      if (generation === this.#generation) this.#opening = undefined
      throw error
    }
  }

  /** Stops watching, and closes the connection when we opened it. */
  async #release(): Promise<void> {
    // A connect still in flight sees the new generation and closes what it opens.
    this.#generation++
    this.#released.abort()
    this.#released = new AbortController()
    this.#opening = undefined
    this.#monitor?.stop()
    this.#monitor = undefined
    this.#probe?.stop()
    this.#probe = undefined
    this.#suspect = false
    const connection = this.#connection
    this.#connection = undefined
    this.#connected = false
    if (connection !== undefined && connection !== this.#options.client) await connection.close()
  }

  #watch(connection: NatsConnectionLike): ConnectionMonitor {
    return monitorConnection(connection, {
      disconnected: () => {
        this.#connected = false
        this.#suspect = false
        this.#each((user) => user.onState('disconnected'))
      },
      reconnected: (reason, detail) => {
        this.#connected = true
        this.#suspect = false
        this.#maxPayload = connection.info?.max_payload ?? this.#maxPayload
        // The client re-sends our SUBs on reconnect; only once the server answered a PING behind
        // them are frames published from now on delivered. Reporting `connected` and the gap
        // before that would let core trust its local layers while an invalidation can still
        // be missed. A failed flush means the connection dropped again: its events follow.
        connection.flush().then(
          () => {
            if (this.#closed || !this.#connected || this.#connection !== connection) return
            this.#each((user) => {
              user.onState('connected')
              user.reconnected(reason, detail)
            })
          },
          () => {},
        )
      },
      closed: () => {
        this.#connected = false
        this.#suspect = false
        // Closed for good: nothing left to probe (a probe would keep failing flushes).
        this.#probe?.stop()
        if (!this.#closed) this.#each((user) => user.onState('disconnected'))
      },
    })
  }

  /**
   * Flushes the connection on a timer. A silence makes every user `suspect` (the client is
   * made to reconnect, and the monitor reports what follows); answers resuming without a
   * reconnect (a client that cannot reconnect on demand) make them `connected` with a gap.
   */
  #probeLiveness(connection: NatsConnectionLike): ConnectionProbe {
    return probeConnection(connection, this.#options.maxSilenceMs, {
      suspect: () => {
        if (!this.#connected || this.#suspect || this.#closed) return
        this.#suspect = true
        this.#each((user) => user.onState('suspect'))
      },
      live: (detail) => {
        if (!this.#connected || !this.#suspect || this.#closed) return
        this.#suspect = false
        this.#each((user) => {
          user.onState('connected')
          user.reconnected('silence', detail)
        })
      },
    })
  }

  /**
   * Connects to `servers`. Core does not retry `connect()`, so a NATS outage at startup must
   * not leave the caches without a backplane for good: while no server answers every user
   * hears `disconnected` and we keep trying (the caches work meanwhile, and core reports a gap
   * for anything cached before the subscription was live). Anything but a connection failure
   * (a malformed URL, bad credentials) is thrown at once.
   */
  async #connect(servers: string | readonly string[]): Promise<NatsConnectionLike> {
    const { connect } = await import('@nats-io/transport-node')
    const { name, connectOptions } = this.#options
    const backoff = new Backoff(CONNECT_BACKOFF)
    const released = this.#released.signal
    for (;;) {
      try {
        // Reconnect forever once connected: every reconnect becomes a gap for core.
        const connection = await connect({
          name,
          maxReconnectAttempts: -1,
          ...connectOptions,
          servers: [...[servers].flat()],
        })
        if (backoff.attempts > 0) this.#each((user) => user.onState('connected'))
        return connection
      } catch (err) {
        if (!(err instanceof Error) || err.name !== 'ConnectionError' || this.#idle()) throw err
        if (backoff.attempts === 0) this.#each((user) => user.onState('disconnected'))
        if (!(await backoff.wait(released)) || this.#idle()) throw this.#closedError()
      }
    }
  }

  /** Nobody waits for the connection any more. */
  #idle(): boolean {
    return this.#closed || this.#users.size === 0
  }

  #each(call: (user: ConnectionUser) => void): void {
    for (const user of [...this.#users]) call(user)
  }

  #closedError(): Error {
    const { name } = this.#options
    return new ClosedError(`natsBackplane '${name}' was closed while connecting`, { source: name })
  }
}
