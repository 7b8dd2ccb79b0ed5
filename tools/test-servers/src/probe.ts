import { connect } from 'node:net'

/** What to send to a server and what the start of a healthy answer looks like. */
export interface Probe {
  /** Bytes to send after connecting ('' sends nothing, for servers that speak first). */
  send: string
  /** Text the answer must contain. */
  expect: string
}

/**
 * Readiness probes that also check WHICH process answers (its pid, or a unique NATS server
 * name): if another server already holds the port, the new one fails to bind, and a probe
 * that only checked the protocol would mistake the other server for it.
 */
export const probes = {
  redis: (pid: number): Probe => ({ send: 'INFO server\r\n', expect: `process_id:${pid}\r\n` }),
  memcached: (pid: number): Probe => ({ send: 'stats\r\n', expect: `STAT pid ${pid}\r\n` }),
  nats: (serverName: string): Probe => ({ send: '', expect: `"server_name":"${serverName}"` }),
}

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
