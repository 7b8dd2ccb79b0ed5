import { describeCacheHandle } from '@cacheplane/core/testing'
import { memcachedHandle } from '../src/index.js'
import { memcachedServers } from './helpers.js'

// Each handle opens (and closes) its own client; the suite binds each to a random cache name.
describeCacheHandle('memcachedHandle on one server', () => memcachedHandle({ servers: memcachedServers() }))
