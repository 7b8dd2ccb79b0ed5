import { describeCacheHandle } from '@cacheplane/core/testing'
import { afterAll } from 'vitest'
import { keyvHandle } from '../src/index.js'
import { postgresStore } from './helpers.js'

// One @keyv/postgres store (its pool is shared per URI anyway); every handle is bound to its
// own random cache name, so they share the table as application instances share a database.
const store = postgresStore()
afterAll(() => store.disconnect())

// A short token refresh, so the onExternalClear test does not wait for the 5 s default.
describeCacheHandle('keyvHandle on @keyv/postgres', () => keyvHandle({ store, generationRefreshMs: 200 }), {
  externalClearWithinMs: 3_000,
  cleanup: () => {
    if (store.errors.length > 0) throw new Error(`the store emitted errors: ${String(store.errors[0])}`)
  },
})
