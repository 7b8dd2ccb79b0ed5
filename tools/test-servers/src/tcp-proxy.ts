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

/** Starts a proxy to `target` on a free port of 127.0.0.1. */
export function startTcpProxy(target: HostPort): Promise<TcpProxy> {
  let mode: Mode = 'open'
  const pairs = new Set<Pair>()
  const isStalled = (): boolean => mode === 'stalled'
  let delay = { ms: 0, direction: 'both' as DelayDirection }
  const requestDelay = (): number => (delay.direction === 'replies' ? 0 : delay.ms)
  const replyDelay = (): number => (delay.direction === 'requests' ? 0 : delay.ms)
  const isBlackholed = (): boolean => mode === 'blackholed'

  const destroyPair = (pair: Pair): void => {
    pairs.delete(pair)
    for (const direction of pair.directions) direction.dispose()
    pair.client.destroy()
    pair.upstream.destroy()
  }

  const server = createServer({ allowHalfOpen: true }, (client) => {
    if (mode === 'cut') {
      client.destroy()
      return
    }
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true })
    // A proxy must not add latency of its own: Nagle's algorithm would hold small writes back.
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    const pair: Pair = { client, upstream, directions: [] }
    pair.directions.push(
      new Forwarder(client, upstream, isStalled, requestDelay, isBlackholed),
      new Forwarder(upstream, client, isStalled, replyDelay, isBlackholed),
    )
    if (mode === 'stalled') for (const direction of pair.directions) direction.pause()
    pairs.add(pair)
    const teardown = (): void => destroyPair(pair)
    for (const socket of [client, upstream]) {
      socket.once('error', teardown)
      socket.once('close', teardown)
    }
  })

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
        cut() {
          mode = 'cut'
          for (const pair of [...pairs]) destroyPair(pair)
        },
        stall() {
          if (mode === 'cut') return
          mode = 'stalled'
          for (const pair of pairs) for (const direction of pair.directions) direction.pause()
        },
        delay(ms, direction = 'both') {
          if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay: ms must be >= 0, got ${ms}`)
          delay = { ms, direction }
        },
        blackhole() {
          if (mode === 'cut') return
          // Held data of a stall is lost too: a blackhole delivers nothing, ever.
          if (mode === 'stalled') for (const pair of pairs) for (const d of pair.directions) d.discard()
          mode = 'blackholed'
        },
        heal() {
          const wasStalled = mode === 'stalled'
          mode = 'open'
          delay = { ms: 0, direction: 'both' }
          if (wasStalled)
            for (const pair of pairs) for (const direction of pair.directions) direction.resume()
        },
        close() {
          for (const pair of [...pairs]) destroyPair(pair)
          return new Promise<void>((done) => server.close(() => done()))
        },
      })
    })
  })
}
