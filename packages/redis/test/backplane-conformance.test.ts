import { describeBackplane } from '@cacheplane/core/testing'
import { redisBackplane } from '../src/index.js'
import { topologies } from './topologies.js'

// Each backplane opens (and closes) its own connections, as separate application instances would.
for (const topology of topologies) {
  describeBackplane(`redisBackplane on ${topology.name} Redis`, () => redisBackplane(topology.options()))
}
describeBackplane('redisBackplane on Cluster Redis, plain pub/sub', () =>
  redisBackplane({ ...topologies[1]?.options(), sharded: false }),
)
