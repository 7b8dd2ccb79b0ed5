import { describeCacheHandle } from '@cacheplane/core/testing'
import { memcachedHandle } from '../src/index.js'
import { memcachedPool } from './helpers.js'

// The same suite with keys (and generation counters) spread over two servers.
describeCacheHandle('memcachedHandle on two servers', () => memcachedHandle({ servers: memcachedPool() }))
