import 'reflect-metadata'
import { CacheManager } from '@cacheplane/core'
import { keyvHandle, keyvStore } from '@cacheplane/keyv'
import { memoryHandle } from '@cacheplane/memory'
import { CACHE_MANAGER, CacheModule } from '@nestjs/cache-manager'
import { NestFactory } from '@nestjs/core'
import type { Cache } from 'cache-manager'
import Keyv from 'keyv'

/** The module to import in your AppModule: `@Module({ imports: [cacheModule(manager)] })`. */
export function cacheModule(manager: CacheManager) {
  return CacheModule.register({
    isGlobal: true,
    stores: [new Keyv({ store: keyvStore(manager) })],
    ttl: 60_000, // cache-manager's default TTL, ms
  })
}

export async function main() {
  const manager = new CacheManager({
    name: 'nest-app',
    // In production: redisHandle, or keyvHandle over a database, and a backplane.
    handles: [memoryHandle({ maxEntries: 10_000 }), keyvHandle({ store: new Map() })],
  })
  const app = await NestFactory.createApplicationContext(cacheModule(manager), { logger: false })
  const cache = app.get<Cache>(CACHE_MANAGER) // what @Inject(CACHE_MANAGER) gives a service
  await cache.set('greeting', 'hello')
  const greeting = await cache.get<string>('greeting')
  const item = await manager.getItem('keyv:greeting', { region: 'keyv' }) // the same entry, in cacheplane
  await app.close()
  await manager.close() // the manager is the application's: close it on shutdown
  return { greeting, level: item?.level }
}
