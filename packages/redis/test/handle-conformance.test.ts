import { describeCacheHandle } from '@cacheplane/core/testing'
import { redisHandle } from '../src/index.js'
import { topologies } from './topologies.js'

// Each handle opens (and closes) its own connection; the suite binds each to a random cache name.
for (const topology of topologies) {
  describeCacheHandle(`redisHandle on ${topology.name} Redis`, () => redisHandle(topology.options()))
}
