/**
 * A listener of the scale scenarios: an application instance (memory + Redis + backplane)
 * that counts the remote invalidations it applies and, asked with `report`, says how many
 * and when (monotonic ms) the last one arrived. A remote `set` of `probeKey` is answered
 * like the propagation listener does: the key is read and `seen` reported with its probe.
 */
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisHandle } from '@cacheplane/redis'
import { monotonicMs } from '../percentiles.js'
import { type BackplaneChoice, createBackplane } from './backplane-choice.js'

/** Config of {@link runCountListener}. */
export interface CountListenerConfig {
  readonly cacheName: string
  readonly redisUrl: string
  readonly backplane: BackplaneChoice
  readonly probeKey: string
}

export async function runCountListener(config: CountListenerConfig): Promise<void> {
  const cache = new CacheManager<unknown>({
    name: config.cacheName,
    handles: [memoryHandle({ maxEntries: 100_000 }), redisHandle({ url: config.redisUrl })],
    backplane: createBackplane(config.backplane),
  })
  await cache.ready()
  let count = 0
  let last = 0
  cache.on('set', (event) => {
    if (event.origin !== 'remote') return
    const te = monotonicMs()
    if (event.key === config.probeKey) {
      cache.get(event.key).then(
        (value) => {
          const probe = value as { seq?: number; t0?: number } | undefined
          process.send?.({ type: 'seen', seq: probe?.seq ?? -1, t0: probe?.t0 ?? 0, te, tr: monotonicMs() })
        },
        (error: unknown) => process.send?.({ type: 'error', message: String(error) }),
      )
      return
    }
    count++
    last = te
  })
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'report') process.send?.({ type: 'count', count, last })
  })
  process.send?.({ type: 'ready' })
}
