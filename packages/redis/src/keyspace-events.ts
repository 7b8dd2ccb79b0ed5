import type { EvictReason } from '@cacheplane/core'
import { InvalidOptionsError } from '@cacheplane/core'
import type { Redis } from 'ioredis'
import { subscriberTimeout } from './command-deadline.js'
import { isCluster, masters, type RedisClient } from './redis-connection.js'

/** Keyevent channels we listen to, and the evict reason each maps to. */
const EVENTS: ReadonlyArray<readonly [string, EvictReason]> = [
  ['expired', 'expired'],
  ['evicted', 'evicted'],
  ['del', 'external'], // UNLINK publishes `del` too
]
/** The notify-keyspace-events classes we need: keyevent channels, generic (del), expired, evicted. */
const NEEDED = ['E', 'g', 'x', 'e']

/** What the watcher reports: the full store key and why it went away. */
export type KeyspaceListener = (storeKey: string, reason: EvictReason) => void

/** Options of {@link watchKeyspace}. */
export interface KeyspaceWatchOptions {
  /** Client whose masters are watched (a Cluster: every master at the time of the call). */
  readonly client: RedisClient
  /** Only keys starting with this prefix are reported. */
  readonly prefix: string
  /** Run CONFIG SET when the server lacks the needed notify-keyspace-events classes. */
  readonly configureServer: boolean
  /** Receives each matching event. */
  readonly listener: KeyspaceListener
}

/** Subscriptions to keyevent notifications; `close()` disconnects them. */
export interface KeyspaceWatcher {
  /** Unsubscribes and closes the subscriber connections. */
  close(): Promise<void>
}

function missingClasses(flags: string): string[] {
  if (flags.includes('A')) return flags.includes('E') ? [] : ['E']
  return NEEDED.filter((flag) => !flags.includes(flag))
}

async function ensureConfigured(node: Redis, configureServer: boolean): Promise<void> {
  let flags: string
  try {
    const reply = (await node.config('GET', 'notify-keyspace-events')) as unknown as string[]
    flags = reply[1] ?? ''
  } catch (cause) {
    throw new InvalidOptionsError(
      "redisHandle: 'keyspaceNotifications' needs CONFIG GET notify-keyspace-events, which the server refused " +
        '(managed Redis often disables CONFIG; enable notifications in its console with the classes Exeg)',
      { cause },
    )
  }
  const missing = missingClasses(flags)
  if (missing.length === 0) return
  if (!configureServer) {
    throw new InvalidOptionsError(
      `redisHandle: 'keyspaceNotifications' is on but the server's notify-keyspace-events is '${flags}', ` +
        `missing '${missing.join('')}'. Run CONFIG SET notify-keyspace-events ${flags}${missing.join('')} ` +
        "(or in redis.conf), or pass 'configureServer: true' to let cacheplane do it",
    )
  }
  await node.config('SET', 'notify-keyspace-events', `${flags}${missing.join('')}`)
}

/**
 * Subscribes to `__keyevent@<db>__:expired|evicted|del` on every master with a
 * dedicated connection each (notifications are node-local on a Cluster) and
 * reports keys under `prefix`. Notifications are fire-and-forget in Redis: those
 * sent while a subscriber is reconnecting are lost, which costs at most a stale
 * local copy until its TTL or the next backplane message (the backplane, not this,
 * is what keeps instances coherent). A Cluster's masters are read once, at start.
 */
export async function watchKeyspace(options: KeyspaceWatchOptions): Promise<KeyspaceWatcher> {
  const nodes = await masters(options.client)
  await Promise.all(nodes.map((node) => ensureConfigured(node, options.configureServer)))
  const db = isCluster(options.client) ? 0 : (options.client.options.db ?? 0)
  const reasons = new Map(EVENTS.map(([event, reason]) => [`__keyevent@${db}__:${event}`, reason]))
  const subscribers: Redis[] = []
  try {
    for (const node of nodes) {
      const subscriber = node.duplicate({
        lazyConnect: true,
        enableAutoPipelining: false,
        ...subscriberTimeout(node),
      })
      subscribers.push(subscriber)
      subscriber.on('error', () => {
        // Reconnects are automatic; a failed connection must not become an unhandled 'error' event.
      })
      subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
        const reason = reasons.get(channel.toString())
        const key = message.toString()
        if (reason !== undefined && key.startsWith(options.prefix)) options.listener(key, reason)
      })
      await subscriber.connect()
      await subscriber.subscribe(...reasons.keys())
    }
  } catch (error) {
    for (const subscriber of subscribers) subscriber.disconnect()
    throw error
  }
  return {
    async close() {
      await Promise.all(
        subscribers.map(async (subscriber) => {
          try {
            await subscriber.quit()
          } catch {
            subscriber.disconnect()
          }
        }),
      )
    },
  }
}
