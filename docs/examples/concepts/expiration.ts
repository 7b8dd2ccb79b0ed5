import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'

export async function main() {
  const sessions = new CacheManager<{ user: string }>({
    name: 'sessions',
    handles: [memoryHandle(), memoryHandle({ name: 'shared', distributed: true })],
    expiration: { mode: 'sliding', ttl: 20 * 60_000 }, // the default of every write
    maxLocalTtlMs: 60_000, // caps the memory copy, not the shared one
  })

  await sessions.set('s1', { user: 'ada' }) // sliding 20 min: every read extends it
  await sessions.set('s2', { user: 'bob' }, { expiration: { mode: 'absolute', ttl: 5 * 60_000 } })
  await sessions.set('s3', { user: 'eve' }, { expiration: { mode: 'none' } })
  await sessions.expire('s3', { mode: 'absolute', ttl: 10_000 }) // the store; memory drops its copy

  // Memory holds capped copies: at most 60 s, and absolute (a sliding copy that is read
  // often would otherwise outlive any cap).
  const inMemory = await sessions.getItem('s1')
  await sessions.close()
  return { level: inMemory?.level, mode: inMemory?.mode, ttl: inMemory?.ttl }
}
