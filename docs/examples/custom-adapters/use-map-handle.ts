import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { mapHandle } from './map-handle.js'

export async function main() {
  const store = new Map<string, Uint8Array>()
  const users = new CacheManager<{ name: string }>({
    name: 'users',
    handles: [memoryHandle(), mapHandle({ store })], // core calls bind('users') on both
  })
  await users.set('42', { name: 'Ada' })
  await users.set('42', { name: 'Ada' }, { region: 'eu' })
  const keys = [...store.keys()] // ['cacheplane:users::42', 'cacheplane:users:eu:42']
  await users.clearRegion('eu')
  const afterClear = [...store.keys()] // ['cacheplane:users::42']
  await users.close()
  return { keys, afterClear }
}
