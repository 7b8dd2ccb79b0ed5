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

/** One direction of a proxied connection: what is read from `from` goes to `to`, unless stalled. */
class Forwarder {
  private held: Buffer[] = []

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly isStalled: () => boolean,
    private readonly isBlackholed: () => boolean = () => false,
  ) {
    from.on('data', (chunk: Buffer) => {
      if (this.isBlackholed()) return
      if (this.isStalled()) this.held.push(chunk)
      else if (!to.write(chunk)) from.pause()
    })
    to.on('drain', () => {
      if (!this.isStalled()) from.resume()
    })
    // A half-close is data too: while stalled it waits for resume(); a blackhole drops it.
    from.on('end', () => {
      if (!this.isStalled() && !this.isBlackholed()) to.end()
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
    for (const chunk of this.held.splice(0)) this.to.write(chunk)
    if (this.from.readableEnded) this.to.end()
    else this.from.resume()
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
  const isBlackholed = (): boolean => mode === 'blackholed'

  const destroyPair = (pair: Pair): void => {
    pairs.delete(pair)
    pair.client.destroy()
    pair.upstream.destroy()
  }

  const server = createServer({ allowHalfOpen: true }, (client) => {
    if (mode === 'cut') {
      client.destroy()
      return
    }
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true })
    const pair: Pair = { client, upstream, directions: [] }
    pair.directions.push(
      new Forwarder(client, upstream, isStalled, isBlackholed),
      new Forwarder(upstream, client, isStalled, isBlackholed),
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
        blackhole() {
          if (mode === 'cut') return
          // Held data of a stall is lost too: a blackhole delivers nothing, ever.
          if (mode === 'stalled') for (const pair of pairs) for (const d of pair.directions) d.discard()
          mode = 'blackholed'
        },
        heal() {
          const wasStalled = mode === 'stalled'
          mode = 'open'
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
