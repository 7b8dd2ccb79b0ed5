import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

export async function main() {
  const cache = new CacheManager<number>({ name: 'counters', handles: [memoryHandle()] })

  // ReadOptions: { region }
  await cache.get('visits', { region: 'eu' })
  // WriteOptions: { region, expiration }
  await cache.set('visits', 1, { region: 'eu', expiration: { mode: 'sliding', ttl: 30_000 } })
  // UpdateOptions: { region, expiration, maxRetries }
  const next = await cache.update('visits', (n) => n + 1, { region: 'eu', maxRetries: 10 })
  const result = await cache.tryUpdate('missing', (n) => n + 1) // { ok: false, reason: 'missing' }

  await cache.close()
  return { next, result }
}
