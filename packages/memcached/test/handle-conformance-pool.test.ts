import { describeCacheHandle } from '@cacheplane/core/testing'
import { memcachedHandle } from '../src/index.js'
import { memcachedPool } from './helpers.js'

// The same suite with keys (and generation counters) spread over two servers.
// A short counter refresh, so the onExternalClear test does not wait for the 5 s default.
describeCacheHandle(
  'memcachedHandle on two servers',
  () => memcachedHandle({ servers: memcachedPool(), generationRefreshMs: 200 }),
  {
    externalClearWithinMs: 3_000,
  },
)
