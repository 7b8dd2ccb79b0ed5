import { describeCacheHandle } from '@cacheplane/core/testing'
import { memcachedHandle } from '../src/index.js'
import { memcachedServers } from './helpers.js'

// Each handle opens (and closes) its own client; the suite binds each to a random cache name.
// A short counter refresh, so the onExternalClear test does not wait for the 5 s default.
describeCacheHandle(
  'memcachedHandle on one server',
  () => memcachedHandle({ servers: memcachedServers(), generationRefreshMs: 200 }),
  {
    externalClearWithinMs: 3_000,
  },
)
