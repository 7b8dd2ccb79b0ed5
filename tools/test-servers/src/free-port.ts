import { createServer } from 'node:net'

/** Asks the OS for a TCP port on 127.0.0.1 that is free right now (it may be taken again later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('freePort: the OS returned no TCP address'))
        return
      }
      server.close(() => resolve(address.port))
    })
  })
}
