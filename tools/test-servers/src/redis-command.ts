import { Redis } from 'ioredis'

/** Runs one command on a Redis node over a short-lived connection and returns the reply. */
export async function redisCommand(
  host: string,
  port: number,
  command: string,
  ...args: string[]
): Promise<unknown> {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  client.on('error', () => {
    // reported through the rejected command below
  })
  try {
    await client.connect()
    return await client.call(command, ...args)
  } finally {
    client.disconnect()
  }
}
