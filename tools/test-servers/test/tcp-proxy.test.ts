import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { waitFor } from '@cacheplane/core/testing'
import { startTcpProxy, type TcpProxy } from '../src/index.js'
import { refuses } from './probe-helpers.js'

/** A target that records what it receives and lets the test talk back on each connection. */
interface Target {
  port: number
  sockets: Socket[]
  received(): string
  close(): Promise<void>
}

async function startTarget(): Promise<Target> {
  const sockets: Socket[] = []
  let text = ''
  const server: Server = createServer((socket) => {
    sockets.push(socket)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      text += chunk
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return {
    port: address.port,
    sockets,
    received: () => text,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A client connection through the proxy that records what it receives and whether it closed. */
async function openClient(proxy: TcpProxy) {
  const socket = connect({ host: proxy.host, port: proxy.port })
  let text = ''
  let closed = false
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    text += chunk
  })
  socket.on('error', () => {})
  socket.on('close', () => {
    closed = true
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  return { socket, received: () => text, closed: () => closed }
}

/** Lets a window pass in which something must NOT happen (the only way to observe absence). */
const quietWindow = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let target: Target
let proxy: TcpProxy

beforeEach(async () => {
  target = await startTarget()
  proxy = await startTcpProxy({ host: '127.0.0.1', port: target.port })
})

afterEach(async () => {
  await proxy.close()
  await target.close()
})

describe('startTcpProxy', () => {
  it('forwards data in both directions', async () => {
    expect(proxy.host).toBe('127.0.0.1')
    const client = await openClient(proxy)
    client.socket.write('ping')
    await waitFor(() => target.received() === 'ping', { message: 'the target to receive ping' })
    target.sockets[0]!.write('pong')
    await waitFor(() => client.received() === 'pong', { message: 'the client to receive pong' })
    client.socket.destroy()
  })

  it('stall() holds data both ways and heal() delivers it in order', async () => {
    const client = await openClient(proxy)
    client.socket.write('a')
    await waitFor(() => target.received() === 'a', { message: 'the first byte' })
    proxy.stall()
    client.socket.write('b')
    client.socket.write('c')
    target.sockets[0]!.write('x')
    await quietWindow(200)
    expect(target.received()).toBe('a')
    expect(client.received()).toBe('')
    expect(client.closed()).toBe(false)
    proxy.heal()
    await waitFor(() => target.received() === 'abc', { message: 'held client bytes' })
    await waitFor(() => client.received() === 'x', { message: 'held server bytes' })
    client.socket.destroy()
  })

  it('a connection opened during a stall is held too, then works', async () => {
    proxy.stall()
    const client = await openClient(proxy)
    client.socket.write('late')
    await quietWindow(200)
    expect(target.received()).toBe('')
    proxy.heal()
    await waitFor(() => target.received() === 'late', { message: 'the held bytes of the new connection' })
    client.socket.destroy()
  })

  it('delay() delivers replies late and in order, requests at once, and heal() lifts it', async () => {
    const client = await openClient(proxy)
    client.socket.write('a')
    await waitFor(() => target.received() === 'a', { message: 'the first byte' })
    proxy.delay(150, 'replies')
    const sentAt = Date.now()
    target.sockets[0]!.write('x')
    target.sockets[0]!.write('y')
    client.socket.write('b')
    await waitFor(() => target.received() === 'ab', { message: 'a request, not delayed' })
    expect(client.received()).toBe('')
    await waitFor(() => client.received() === 'xy', { message: 'the delayed replies, in order' })
    // Nothing can arrive before its delay is over.
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(150)
    proxy.heal()
    target.sockets[0]!.write('z')
    await waitFor(() => client.received() === 'xyz', { message: 'a reply after heal' })
    expect(() => proxy.delay(-1)).toThrow(RangeError)
    client.socket.destroy()
  })

  it('blackhole() drops data both ways, keeps the sockets open, and heal() does not deliver it', async () => {
    const client = await openClient(proxy)
    client.socket.write('a')
    await waitFor(() => target.received() === 'a', { message: 'the first byte' })
    proxy.blackhole()
    client.socket.write('lost')
    target.sockets[0]!.write('lost')
    await quietWindow(200)
    expect(target.received()).toBe('a')
    expect(client.received()).toBe('')
    expect(client.closed()).toBe(false)
    expect(target.sockets[0]!.destroyed).toBe(false)
    proxy.heal()
    client.socket.write('b')
    target.sockets[0]!.write('y')
    await waitFor(() => target.received() === 'ab', {
      message: 'a client write after heal (the dropped bytes never come)',
    })
    await waitFor(() => client.received() === 'y', {
      message: 'a server write after heal (the dropped bytes never come)',
    })
    client.socket.destroy()
  })

  it('a connection opened during a blackhole is accepted and silenced, then works after heal()', async () => {
    proxy.blackhole()
    const client = await openClient(proxy)
    client.socket.write('lost')
    await quietWindow(200)
    expect(target.received()).toBe('')
    expect(client.closed()).toBe(false)
    proxy.heal()
    client.socket.write('after')
    await waitFor(() => target.received() === 'after', { message: 'a write after heal' })
    client.socket.destroy()
  })

  it('blackhole() during a stall drops what the stall held', async () => {
    const client = await openClient(proxy)
    client.socket.write('a')
    await waitFor(() => target.received() === 'a', { message: 'the first byte' })
    proxy.stall()
    client.socket.write('held')
    await quietWindow(100)
    proxy.blackhole()
    await quietWindow(100) // the paused socket's buffered bytes are read, and dropped
    proxy.heal()
    client.socket.write('b')
    await waitFor(() => target.received().endsWith('b'), { message: 'a write after heal' })
    expect(target.received()).toBe('ab')
    client.socket.destroy()
  })

  it('cut() closes open connections and refuses new ones until heal()', async () => {
    const client = await openClient(proxy)
    client.socket.write('before')
    await waitFor(() => target.received() === 'before', { message: 'the first write' })
    proxy.cut()
    await waitFor(() => client.closed(), { message: 'the open connection to be cut' })
    await waitFor(() => target.sockets[0]!.destroyed || target.sockets[0]!.readableEnded, {
      message: 'the server side to close',
    })
    const refused = await openClient(proxy)
    await waitFor(() => refused.closed(), { message: 'a new connection to be dropped' })
    expect(target.sockets).toHaveLength(1)
    proxy.heal()
    const healed = await openClient(proxy)
    healed.socket.write('after')
    await waitFor(() => target.received() === 'beforeafter', { message: 'a write after heal' })
    healed.socket.destroy()
  })

  it('close() stops listening', async () => {
    const { port } = proxy
    await proxy.close()
    expect(await refuses('127.0.0.1', port)).toBe(true)
    proxy = await startTcpProxy({ host: '127.0.0.1', port: target.port })
  })

  it('closes the client when the target refuses', async () => {
    await target.close()
    const client = await openClient(proxy)
    await waitFor(() => client.closed(), { message: 'the client to be closed' })
    expect(client.received()).toBe('')
    target = await startTarget()
  })
})
