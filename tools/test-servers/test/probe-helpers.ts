import { connect } from 'node:net'

/** Sends `request` over a raw TCP connection and resolves with the text received once `until` appears. */
export function rawExchange(host: string, port: number, request: string, until: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    let received = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no '${until}' from ${host}:${port} within 5 s; got: ${received}`))
    }, 5_000)
    socket.setEncoding('utf8')
    socket.once('connect', () => socket.write(request))
    socket.on('data', (chunk: string) => {
      received += chunk
      if (received.includes(until)) {
        clearTimeout(timer)
        socket.destroy()
        resolve(received)
      }
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

/** Resolves true when a TCP connection to host:port is refused (nothing listens). */
export function refuses(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(true))
  })
}
