import { connect, createServer, type Socket } from 'node:net'
import type { HostPort } from './running-server.js'

/** A TCP proxy on 127.0.0.1 between clients and a server, able to simulate network faults. */
export interface TcpProxy {
  /** Always `127.0.0.1`. */
  host: string
  /** Port the proxy listens on; point clients here. */
  port: number
  /** Cut every open connection and refuse new ones (accepted, then closed at once) until heal(). */
  cut(): void
  /** Hold data in both directions (nothing is delivered, nothing is lost) until heal(). */
  stall(): void
  /**
   * Deliver data `ms` late (in order, nothing lost) until heal(): in both directions, or only
   * towards the client (`replies`: the server's answers arrive late) or the server (`requests`).
   */
  delay(ms: number, direction?: DelayDirection): void
  /**
   * Drop data in both directions while keeping every socket open (a silent partition: a failed
   * switch, a cloud network blip). Unlike stall(), what is dropped is lost for good; new
   * connections are accepted and silenced too. Until heal().
   */
  blackhole(): void
  /** Back to normal: deliver what was held, accept connections again. */
  heal(): void
  /** Closes every connection and stops listening. */
  close(): Promise<void>
}

type Mode = 'open' | 'cut' | 'stalled' | 'blackholed'

/** Which way {@link TcpProxy.delay} slows down. */
export type DelayDirection = 'both' | 'replies' | 'requests'

/** One direction of a proxied connection: what is read from `from` goes to `to`, unless stalled. */
class Forwarder {
  private held: Buffer[] = []
  /** Chunks waiting out the delay, with the time each is due (in arrival order, so due times grow). */
  private late: Array<{ due: number; chunk: Buffer }> = []
  private timer: NodeJS.Timeout | undefined
  private ended = false

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly isStalled: () => boolean,
    private readonly delayMs: () => number,
    private readonly isBlackholed: () => boolean,
  ) {
    from.on('data', (chunk: Buffer) => {
      if (this.isBlackholed()) return
      if (this.isStalled()) this.held.push(chunk)
      else if (this.delayMs() > 0 || this.late.length > 0) this.postpone(chunk)
      else if (!to.write(chunk)) from.pause()
    })
    to.on('drain', () => {
      if (!this.isStalled()) from.resume()
    })
    // A half-close is data too: while stalled it waits for resume(), while delayed for the data
    // before it; a blackhole drops it.
    from.on('end', () => {
      if (this.isBlackholed()) return
      this.ended = true
      if (!this.isStalled() && this.late.length === 0) to.end()
    })
  }

  /** Stops reading, so the kernel buffers fill up and the sender sees back-pressure like on a stalled link. */
  pause(): void {
    this.from.pause()
  }

  /** Forgets what was held (a stall turned into a blackhole) and reads again, to drop it. */
  discard(): void {
    this.held = []
    this.from.resume()
  }

  /** Delivers what was held and reads again. */
  resume(): void {
    this.deliverLate(Number.POSITIVE_INFINITY)
    for (const chunk of this.held.splice(0)) this.to.write(chunk)
    if (this.from.readableEnded) this.to.end()
    else this.from.resume()
  }

  /** Stops the delay timer (the connection is gone). */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private postpone(chunk: Buffer): void {
    // Once a chunk waits, later ones wait behind it even if the delay was lifted: order is kept.
    this.late.push({ due: Date.now() + this.delayMs(), chunk })
    this.schedule()
  }

  private schedule(): void {
    const next = this.late[0]
    if (this.timer !== undefined || next === undefined) return
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        if (this.isStalled()) return // resume() delivers them
        this.deliverLate(Date.now())
        this.schedule()
      },
      Math.max(0, next.due - Date.now()),
    )
  }

  private deliverLate(now: number): void {
    while (this.late.length > 0 && this.late[0]!.due <= now) this.to.write(this.late.shift()!.chunk)
    if (this.ended && this.late.length === 0) this.to.end()
  }
}

interface Pair {
  client: Socket
  upstream: Socket
  directions: Forwarder[]
}

/** The connections through one proxy and the fault in force on them. */
class ProxyConnections {
  private mode: Mode = 'open'
  private readonly pairs = new Set<Pair>()
  private delay = { ms: 0, direction: 'both' as DelayDirection }
  // Forwarders read the fault through these on every chunk, so a change applies at once.
  private readonly isStalled = (): boolean => this.mode === 'stalled'
  private readonly isBlackholed = (): boolean => this.mode === 'blackholed'
  private readonly requestDelay = (): number => (this.delay.direction === 'replies' ? 0 : this.delay.ms)
  private readonly replyDelay = (): number => (this.delay.direction === 'requests' ? 0 : this.delay.ms)

  constructor(private readonly target: HostPort) {}

  /** A client connected: pairs it with a new upstream connection, unless the proxy is cut. */
  accept(client: Socket): void {
    if (this.mode === 'cut') {
      client.destroy()
      return
    }
    const upstream = connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true })
    // A proxy must not add latency of its own: Nagle's algorithm would hold small writes back.
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    const pair: Pair = { client, upstream, directions: [] }
    pair.directions.push(
      new Forwarder(client, upstream, this.isStalled, this.requestDelay, this.isBlackholed),
      new Forwarder(upstream, client, this.isStalled, this.replyDelay, this.isBlackholed),
    )
    if (this.mode === 'stalled') for (const direction of pair.directions) direction.pause()
    this.pairs.add(pair)
    const teardown = (): void => this.destroyPair(pair)
    for (const socket of [client, upstream]) {
      socket.once('error', teardown)
      socket.once('close', teardown)
    }
  }

  cut(): void {
    this.mode = 'cut'
    this.destroyAll()
  }

  stall(): void {
    if (this.mode === 'cut') return
    this.mode = 'stalled'
    for (const pair of this.pairs) for (const direction of pair.directions) direction.pause()
  }

  setDelay(ms: number, direction: DelayDirection): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay: ms must be >= 0, got ${ms}`)
    this.delay = { ms, direction }
  }

  blackhole(): void {
    if (this.mode === 'cut') return
    // Held data of a stall is lost too: a blackhole delivers nothing, ever.
    if (this.mode === 'stalled') for (const pair of this.pairs) for (const d of pair.directions) d.discard()
    this.mode = 'blackholed'
  }

  heal(): void {
    const wasStalled = this.mode === 'stalled'
    this.mode = 'open'
    this.delay = { ms: 0, direction: 'both' }
    if (wasStalled) for (const pair of this.pairs) for (const direction of pair.directions) direction.resume()
  }

  destroyAll(): void {
    for (const pair of [...this.pairs]) this.destroyPair(pair)
  }

  private destroyPair(pair: Pair): void {
    this.pairs.delete(pair)
    for (const direction of pair.directions) direction.dispose()
    pair.client.destroy()
    pair.upstream.destroy()
  }
}

/** Starts a proxy to `target` on a free port of 127.0.0.1. */
export function startTcpProxy(target: HostPort): Promise<TcpProxy> {
  const connections = new ProxyConnections(target)
  const server = createServer({ allowHalfOpen: true }, (client) => connections.accept(client))
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        reject(new Error('startTcpProxy: no TCP address'))
        return
      }
      resolve({
        host: '127.0.0.1',
        port: address.port,
        cut: () => connections.cut(),
        stall: () => connections.stall(),
        delay: (ms, direction = 'both') => connections.setDelay(ms, direction),
        blackhole: () => connections.blackhole(),
        heal: () => connections.heal(),
        close() {
          connections.destroyAll()
          return new Promise<void>((done) => server.close(() => done()))
        },
      })
    })
  })
}
