import { type BackplaneStats, CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { natsBackplane } from '@cacheplane/nats'
import { redisHandle } from '@cacheplane/redis'
import { connect } from '@nats-io/transport-node'

export async function main(
  servers = ['nats://n1:4222', 'nats://n2:4222', 'nats://n3:4222'],
  redisUrl = 'redis://10.0.0.1:6379',
  replicas = 3, // an R3 stream survives losing one JetStream node
): Promise<BackplaneStats | undefined> {
  const nc = await connect({ servers })
  const cache = new CacheManager<string>({
    name: 'pages',
    handles: [memoryHandle(), redisHandle({ url: redisUrl })],
    backplane: natsBackplane({
      client: nc, // yours: never closed by cacheplane
      replay: {
        maxAgeMs: 5 * 60_000, // an instance away longer than this clears its local handles
        storage: 'file', // survives a server restart
        replicas,
      },
    }),
  })
  cache.on('backplane', (event) => {
    if (event.type === 'gap') console.info(event.gap.reason, event.gap.recovered, event.action)
  })
  await cache.ready() // the stream exists and the consumer reads it
  await cache.set('home', '<html>...</html>')
  await cache.flush() // resolves once the stream acknowledged the frame
  const stats = cache.stats().backplane
  await cache.close()
  await nc.close()
  return stats
}
