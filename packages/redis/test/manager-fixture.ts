import {
  type CacheEventName,
  type CacheEvents,
  CacheManager,
  type CacheManagerOptions,
} from '@cacheplane/core'
import { waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '../src/index.js'
import type { RedisConnectionOptions } from '../src/redis-connection.js'

/** One recorded manager event. */
export type Recorded = {
  [E in CacheEventName]: { readonly name: E; readonly event: CacheEvents[E] }
}[CacheEventName]

const EVENT_NAMES: readonly CacheEventName[] = [
  'add',
  'set',
  'update',
  'expire',
  'remove',
  'clear',
  'clearRegion',
  'evict',
  'backplane',
  'error',
]

/** A manager plus every event it emitted, as one application instance of the tests. */
export interface Instance {
  readonly cache: CacheManager<unknown>
  readonly events: Recorded[]
  /** Waits until an event matching `predicate` was emitted (by index `from` on), and returns it. */
  next<E extends CacheEventName>(
    name: E,
    predicate?: (event: CacheEvents[E]) => boolean,
    from?: number,
  ): Promise<CacheEvents[E]>
}

/** What {@link startInstance} takes besides manager options. */
export interface InstanceExtras {
  keyspaceNotifications?: boolean
  configureServer?: boolean
  /** Where the backplane connects, when not where the handle does. */
  backplaneConnection?: RedisConnectionOptions
}

/**
 * Starts an instance: memory on top of Redis, with a Redis backplane, each opening its own
 * connections from `connection` (so instances are as separate as processes would be).
 */
export async function startInstance(
  connection: RedisConnectionOptions,
  name: string,
  extra: Partial<CacheManagerOptions> & InstanceExtras = {},
): Promise<Instance> {
  const { keyspaceNotifications, configureServer, backplaneConnection, ...managerOptions } = extra
  const cache = new CacheManager<unknown>({
    name,
    handles: [
      memoryHandle({ maxEntries: 1_000 }),
      redisHandle({
        ...connection,
        ...(keyspaceNotifications === undefined ? {} : { keyspaceNotifications }),
        ...(configureServer === undefined ? {} : { configureServer }),
      }),
    ],
    backplane: redisBackplane(backplaneConnection ?? connection),
    ...managerOptions,
  })
  const events: Recorded[] = []
  for (const eventName of EVENT_NAMES) {
    cache.on(eventName, (event) => events.push({ name: eventName, event } as Recorded))
  }
  await cache.ready()
  return {
    cache,
    events,
    next(eventName, predicate = () => true, from = 0) {
      return waitFor(
        () => {
          const found = events
            .slice(from)
            .find((recorded) => recorded.name === eventName && predicate(recorded.event as never))
          return found?.event as never
        },
        { message: `a '${eventName}' event on '${name}'` },
      )
    },
  }
}
