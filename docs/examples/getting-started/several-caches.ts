import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'

interface User {
  name: string
}
interface Product {
  price: number
}
interface Session {
  userId: string
}

export async function main(url = 'redis://127.0.0.1:6379') {
  // One client and one backplane per process, shared by every cache.
  const client = new Redis(url, {
    connectionName: 'shop-1', // to find our connections in CLIENT LIST below
    enableAutoPipelining: true,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 1,
  })
  const backplane = redisBackplane({ client }) // one subscriber connection, whatever the number of caches
  const cache = <T>(name: string) =>
    new CacheManager<T>({ name, handles: [memoryHandle(), redisHandle({ client })], backplane })

  const users = cache<User>('users') // channel cacheplane:users
  const products = cache<Product>('products') // channel cacheplane:products
  const sessions = cache<Session>('sessions') // channel cacheplane:sessions
  await Promise.all([users.ready(), products.ready(), sessions.ready()])

  const list = (await client.call('CLIENT', 'LIST')) as string
  // 2: your client and the backplane's subscriber (with a backplane per cache: 4, and 1 + N for N caches).
  const connections = list.split('\n').filter((line) => line.includes(' name=shop-1 ')).length

  // Closing a cache unsubscribes its channel; the subscriber connection closes with the last one.
  await Promise.all([users.close(), products.close(), sessions.close()])
  await client.quit()
  return { connections }
}
