import { describeCacheHandle } from '@cacheplane/core/testing'
import Keyv from 'keyv'
import { keyvHandle } from '../src/index.js'

// Keyv's in-memory store is a Map: one per handle is one process's own store.
describeCacheHandle('keyvHandle on a Map (in-process)', () => keyvHandle({ store: new Map() }))

// One Map shared by every handle plays a shared database: bind scopes the keys per cache.
const shared = new Map<string, unknown>()
describeCacheHandle(
  'keyvHandle on a shared Map (distributed)',
  () => keyvHandle({ store: shared, distributed: true, generationRefreshMs: 200 }),
  { externalClearWithinMs: 3_000 },
)

// A Keyv instance is itself a store (get/set/delete): its own serialization and TTL apply underneath.
describeCacheHandle('keyvHandle on a Keyv instance', () => keyvHandle({ store: new Keyv() }))
