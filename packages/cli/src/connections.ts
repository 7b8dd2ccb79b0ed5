/**
 * The CLI opens its own clients, with a short connect timeout and no retries, so an
 * unreachable server is one clear error naming the address instead of a hang; the
 * adapters are then handed those clients (they never close what they were given).
 */
import { connect as connectNatsServer, type NatsConnection } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import { Client as MemcachedClient } from 'memjs'
import { UnreachableError, UsageError } from './cli-errors.js'

/** Default connect timeout, ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 3_000

/** A URL with any password replaced, safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password === '') return url
    parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}

function causeText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return causeText(error.errors[0])
  const message = error instanceof Error ? error.message : String(error)
  return message === '' && error instanceof Error && 'code' in error ? String(error.code) : message
}

/** Connects to Redis (`redis://` or `rediss://`); UnreachableError when it does not answer in time (also each command's bound). */
export async function connectRedis(url: string, connectTimeoutMs: number): Promise<Redis> {
  if (!/^rediss?:\/\//.test(url)) {
    throw new UsageError(`--redis needs a redis:// or rediss:// URL, got '${url}'`)
  }
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    commandTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 1,
    // The backplane opens its own subscriber connections and reconnects those itself.
    retryStrategy: () => null,
  })
  let lastError: unknown
  client.on('error', (error: unknown) => {
    lastError = error
  })
  try {
    await client.connect()
    await client.ping()
  } catch (error) {
    client.disconnect()
    throw new UnreachableError(`cannot reach Redis at ${redactUrl(url)}: ${causeText(lastError ?? error)}`, {
      cause: lastError ?? error,
    })
  }
  return client
}

/** Closes a Redis client: QUIT when it is up, a hard disconnect otherwise. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit()
      return
    } catch {
      // The server went away mid-QUIT.
    }
  }
  client.disconnect()
}

/** Connects to NATS; UnreachableError when the server does not answer in time. */
export async function connectNats(url: string, connectTimeoutMs: number): Promise<NatsConnection> {
  try {
    // Once connected, reconnect forever: `watch` reports the gaps the backplane sees.
    return await connectNatsServer({
      servers: url,
      timeout: connectTimeoutMs,
      name: 'cacheplane-cli',
      maxReconnectAttempts: -1,
    })
  } catch (error) {
    throw new UnreachableError(`cannot reach NATS at ${redactUrl(url)}: ${causeText(error)}`, {
      cause: error,
    })
  }
}

const silentLogger = { log: (): void => {} }

/** Connects to every Memcached server of `servers` (`host:port[,host:port...]`) and checks each answers (also each request's bound). */
export async function connectMemcached(servers: string, connectTimeoutMs: number): Promise<MemcachedClient> {
  const list = servers.split(',').map((server) => server.trim())
  if (list.some((server) => !/^[^\s/]+:\d+$/.test(server))) {
    throw new UsageError(`--memcached needs host:port[,host:port...], got '${servers}'`)
  }
  const client = MemcachedClient.create(list.join(','), {
    retries: 0,
    failover: false,
    timeout: connectTimeoutMs / 1000,
    conntimeout: connectTimeoutMs / 1000,
    logger: silentLogger,
  })
  const failures = await new Promise<string[]>((resolve) => {
    const pending = new Set(list)
    const failed: string[] = []
    const timer = setTimeout(
      () => resolve([...failed, ...[...pending].map((s) => `${s}: no answer`)]),
      connectTimeoutMs * 2,
    )
    client.stats((error, server) => {
      pending.delete(server)
      if (error !== null) failed.push(`${server}: ${causeText(error)}`)
      if (pending.size === 0) {
        clearTimeout(timer)
        resolve(failed)
      }
    })
  })
  if (failures.length > 0) {
    client.close()
    throw new UnreachableError(`cannot reach Memcached at ${failures.join('; ')}`)
  }
  return client
}
