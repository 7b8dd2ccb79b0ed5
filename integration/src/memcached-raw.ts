/**
 * Just enough of Memcached's text protocol to tamper with a store from outside: list keys with
 * `lru_crawler metadump all` and overwrite one with raw bytes.
 */
import { connect } from 'node:net'
import type { Address } from './worker/topology.js'

/** Sends `request` and resolves with the reply once it ends with one of `terminators`. */
function exchange(server: Address, request: Buffer, terminators: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, server.host)
    let reply = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`memcached ${server.host}:${server.port}: no complete reply within 5 s: ${reply}`))
    }, 5_000)
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (terminators.some((end) => reply.endsWith(end))) {
        clearTimeout(timer)
        socket.end()
        resolve(reply)
      }
    })
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.write(request)
  })
}

/** Every key on the server (URL-decoded), as the LRU crawler lists them. */
export async function memcachedKeys(server: Address): Promise<string[]> {
  const reply = await exchange(server, Buffer.from('lru_crawler metadump all\r\n'), ['END\r\n', 'ERROR\r\n'])
  return [...reply.matchAll(/^key=(\S+)/gm)].map((match) => decodeURIComponent(match[1] as string))
}

/** Overwrites `key` with `bytes` (flags 0, no expiry). */
export async function memcachedOverwrite(server: Address, key: string, bytes: Buffer): Promise<void> {
  const header = Buffer.from(`set ${key} 0 0 ${bytes.length}\r\n`)
  const reply = await exchange(server, Buffer.concat([header, bytes, Buffer.from('\r\n')]), [
    'STORED\r\n',
    'ERROR\r\n',
  ])
  if (reply !== 'STORED\r\n') throw new Error(`memcached: set ${key} answered ${reply.trim()}`)
}
