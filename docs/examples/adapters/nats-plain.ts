import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { natsBackplane } from '@cacheplane/nats'
import { redisHandle } from '@cacheplane/redis'

export async function main() {
  const cache = new CacheManager<string>({
    name: 'pages',
    handles: [memoryHandle(), redisHandle({ url: 'redis://10.0.0.1:6379' })],
    // cacheplane connects, reconnects forever and closes this connection on close().
    backplane: natsBackplane({
      servers: ['nats://n1:4222', 'nats://n2:4222', 'nats://n3:4222'],
      connectOptions: { user: 'app', pass: process.env.NATS_PASSWORD ?? '' },
    }),
  })
  await cache.set('home', '<html>...</html>')
  await cache.close()
}
