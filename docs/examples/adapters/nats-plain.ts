import { type BackplaneStats, CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { natsBackplane } from '@cacheplane/nats'
import { redisHandle } from '@cacheplane/redis'

export async function main(
  servers = ['nats://n1:4222', 'nats://n2:4222', 'nats://n3:4222'],
  redisUrl = 'redis://10.0.0.1:6379',
): Promise<BackplaneStats | undefined> {
  const cache = new CacheManager<string>({
    name: 'pages',
    handles: [memoryHandle(), redisHandle({ url: redisUrl })],
    // cacheplane connects, reconnects forever and closes this connection on close().
    backplane: natsBackplane({
      servers,
      connectOptions: { user: 'app', pass: process.env.NATS_PASSWORD ?? '' },
    }),
  })
  await cache.ready() // optional: resolves once the subscription is live
  await cache.set('home', '<html>...</html>')
  await cache.flush() // resolves once the server has read the frame
  const stats = cache.stats().backplane // { connected: true, framesSent: ..., ... }
  await cache.close()
  return stats
}
