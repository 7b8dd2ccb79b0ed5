import { CacheManager } from '@cacheplane/core'
import { memcachedHandle } from '@cacheplane/memcached'
import { memoryHandle } from '@cacheplane/memory'
import { natsBackplane } from '@cacheplane/nats'

export async function main(
  servers = ['10.0.0.1:11211', '10.0.0.2:11211', '10.0.0.3:11211'],
  nats = 'nats://10.0.0.10:4222',
) {
  const cache = new CacheManager<{ html: string }>({
    name: 'fragments',
    handles: [
      memoryHandle({ maxEntries: 20_000 }),
      memcachedHandle({
        servers, // keys are spread over them by memjs; list them in the same order everywhere
        commandTimeoutMs: 500, // per command; one attempt, then core's circuit breaker decides
        generationRefreshMs: 5_000, // re-read clear counters at least this often
      }),
    ],
    backplane: natsBackplane({ servers: nats }),
    expiration: { mode: 'absolute', ttl: 10 * 60_000 },
  })
  await cache.set('footer', { html: '<footer>...</footer>' }, { region: 'de' })
  await cache.clearRegion('de') // one round trip: bumps the region's generation
  const footer = await cache.get('footer', { region: 'de' }) // undefined
  await cache.close()
  return footer
}
