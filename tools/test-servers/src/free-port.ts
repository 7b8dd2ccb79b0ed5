import { createServer, type Server } from 'node:net'

// Ports this process has handed out: never handed out twice, so two servers started
// concurrently cannot be given the same port (the OS may return a just-closed port again).
const handedOut = new Set<number>()

/** Asks the OS for a TCP port on 127.0.0.1 that is free right now (another process may still take it). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1)
  return port!
}

/** `count` distinct free ports, all held open together while they are picked. */
export async function freePorts(count: number): Promise<number[]> {
  const held: Server[] = []
  const ports: number[] = []
  try {
    while (ports.length < count) {
      const server = await listenOnAnyPort()
      held.push(server)
      const port = portOf(server)
      if (handedOut.has(port)) continue
      handedOut.add(port)
      ports.push(port)
    }
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))))
  }
  return ports
}

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

function portOf(server: Server): number {
  const address = server.address()
  if (address === null || typeof address === 'string')
    throw new Error('freePort: the OS returned no TCP address')
  return address.port
}
