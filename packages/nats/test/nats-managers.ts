import type { BackplaneEvent, CacheHandle } from '@cacheplane/core'
import { CacheManager } from '@cacheplane/core'
import { waitFor } from '@cacheplane/core/testing'
import { memoryHandle } from '@cacheplane/memory'
import { type NatsReplayOptions, natsBackplane } from '../src/index.js'

/** One application instance: a manager, its own memory layer, and what its backplane reported. */
export interface Instance {
  readonly cache: CacheManager<unknown>
  /** The instance's local (in-process) layer, to look at what it holds. */
  readonly local: CacheHandle<unknown>
  /** Every `backplane` event, in order. */
  readonly events: BackplaneEvent[]
  /** Every change heard from another instance, as `<event>:<region>:<key>` (or `<event>:<region>`). */
  readonly remote: string[]
}

const changeEvents = ['add', 'set', 'update', 'expire', 'remove', 'clear', 'clearRegion'] as const

/** Options of {@link instances}. */
export interface InstancesOptions {
  /** Cache name (all instances share it). */
  readonly name: string
  /** Server URLs per instance (instance i connects to `servers[i]`). */
  readonly servers: readonly (string | readonly string[])[]
  /** Memory layer only (no shared store): remote changes just evict. */
  readonly memoryOnly?: boolean
  /** JetStream replay for every instance. */
  readonly replay?: NatsReplayOptions
}

/**
 * Managers over NATS, one per entry of `servers`, each with its own memory layer in front
 * of one shared distributed-mode memory handle that plays the role of Redis.
 */
export async function instances(
  options: InstancesOptions,
): Promise<{ all: Instance[]; close(): Promise<void> }> {
  const shared = memoryHandle({ name: 'shared', distributed: true }) as CacheHandle<unknown>
  const all = options.servers.map((servers, index): Instance => {
    const local = memoryHandle({ name: 'memory' }) as CacheHandle<unknown>
    const events: BackplaneEvent[] = []
    const cache = new CacheManager<unknown>({
      name: options.name,
      handles: options.memoryOnly ? [local] : [local, shared],
      shared: options.memoryOnly ? [] : [shared],
      backplane: natsBackplane({
        servers: [servers].flat(),
        name: `nats-${index}`,
        connectOptions: { reconnectTimeWait: 50, noRandomize: true },
        ...(options.replay === undefined ? {} : { replay: options.replay }),
      }),
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
    })
    const remote: string[] = []
    cache.on('backplane', (event) => void events.push(event))
    for (const name of changeEvents) {
      cache.on(name, (event) => {
        if (event.origin !== 'remote') return
        const key = 'key' in event ? `:${event.key}` : ''
        remote.push(`${name}:${'region' in event ? event.region : undefined}${key}`)
      })
    }
    return { cache, local, events, remote }
  })
  await Promise.all(all.map((instance) => instance.cache.ready()))
  return {
    all,
    close: async () => {
      await Promise.all(all.map((instance) => instance.cache.close()))
      await shared.close()
    },
  }
}

/** Whether the instance's own memory layer holds `key`. */
export async function holds(instance: Instance, key: string, region?: string): Promise<boolean> {
  return (await instance.local.get(key, region)) !== undefined
}

/**
 * The gap events the transport reported to an instance. Core's own gap at detection time (reason
 * `disconnected`: local layers are cleared and bypassed as soon as the connection is lost) is
 * left out: these tests are about what follows the reconnect.
 */
export function gaps(instance: Instance) {
  return instance.events.flatMap((event) =>
    event.type === 'gap' && event.gap.reason !== 'disconnected' ? [event] : [],
  )
}

/** Runs a write on another instance and waits until `listener` heard about it. */
export async function propagated(listener: Instance, write: () => Promise<unknown>): Promise<void> {
  const before = listener.remote.length
  await write()
  await waitFor(() => listener.remote.length > before, {
    timeoutMs: 10_000,
    message: 'the change to reach the other instance',
  })
}
