import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'

export async function main(url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379') {
  // cacheplane opens the connection (fail-fast settings) and closes it on close(). The handle
  // and the backplane share it (same url and timeouts; `shareConnection: false` for one each),
  // plus the backplane's subscriber connection.
  const cache = new CacheManager<string>({
    name: 'pages',
    handles: [memoryHandle(), redisHandle({ url, prefix: 'app1:', commandTimeoutMs: 1_000 })],
    backplane: redisBackplane({ url, commandTimeoutMs: 1_000 }),
  })
  await cache.set('home', '<html>...</html>')
  await cache.close()
}
