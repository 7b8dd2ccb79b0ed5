/**
 * The peer libraries, set up the way their READMEs show, sized so every key of the
 * benchmark fits in their memory tier (BentoCache's memory driver keeps 1,000 items by
 * default; a memory-hit benchmark over 10,000 keys would otherwise measure Redis).
 */
import { BentoCache, type BentoStore, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { Cacheable } from 'cacheable'

/** `redis://host:port` as ioredis connection options. */
export function redisConnection(url: string): { host: string; port: number } {
  const parsed = new URL(url)
  return { host: parsed.hostname, port: Number(parsed.port || 6379) }
}

/** BentoCache with a memory L1, a Redis L2 and the Redis bus (its multi-tier setup). */
export function createBentoCache(redisUrl: string, maxItems: number): BentoCache<{ multitier: BentoStore }> {
  const connection = redisConnection(redisUrl)
  return new BentoCache({
    default: 'multitier',
    stores: {
      multitier: bentostore()
        .useL1Layer(memoryDriver({ maxItems, maxSize: 100 * 1024 * 1024 }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
    },
  }) as BentoCache<{ multitier: BentoStore }>
}

/** cacheable with its default in-memory primary store (no secondary). */
export function createCacheable(): Cacheable {
  return new Cacheable()
}
