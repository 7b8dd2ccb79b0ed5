import { connect } from 'node:net'

/** What to send to a server and what the start of a healthy answer looks like. */
export interface Probe {
  /** Bytes to send after connecting ('' sends nothing, for servers that speak first). */
  send: string
  /** Text the answer must contain. */
  expect: string
}

/** The readiness probe of each server kind. */
export const probes = {
  redis: { send: 'PING\r\n', expect: '+PONG' },
  memcached: { send: 'version\r\n', expect: 'VERSION' },
  nats: { send: '', expect: 'INFO' },
} satisfies Record<string, Probe>

/** Connects once, sends the probe and resolves true when the expected answer arrives in time. */
export function probeOnce(host: string, port: number, probe: Probe, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let received = ''
    const finish = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => finish(false), timeoutMs)
    socket.setEncoding('utf8')
    socket.once('connect', () => {
      if (probe.send !== '') socket.write(probe.send)
    })
    socket.on('data', (chunk: string) => {
      received += chunk
      if (received.includes(probe.expect)) finish(true)
    })
    socket.once('error', () => finish(false))
    socket.once('close', () => finish(received.includes(probe.expect)))
  })
}

/** Sleeps for `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
