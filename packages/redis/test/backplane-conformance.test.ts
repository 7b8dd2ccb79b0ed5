import type { Backplane } from '@cacheplane/core'
import { describeBackplane } from '@cacheplane/core/testing'
import { redisBackplane } from '../src/index.js'
import { closeAll, mastersOf, type Topology, topologies } from './topologies.js'

/** Kills every pub/sub connection on the servers: each backplane resubscribes and reports a gap. */
const killSubscribers = (topology: Topology) => async (_backplane: Backplane) => {
  const admin = topology.connect()
  try {
    for (const node of await mastersOf(admin)) await node.client('KILL', 'TYPE', 'pubsub')
  } finally {
    await closeAll([admin])
  }
}

// Each backplane opens (and closes) its own connections, as separate application instances would.
for (const topology of topologies) {
  describeBackplane(`redisBackplane on ${topology.name} Redis`, () => redisBackplane(topology.options()), {
    interrupt: killSubscribers(topology),
  })
}
describeBackplane(
  'redisBackplane on Cluster Redis, plain pub/sub',
  () => redisBackplane({ ...topologies[1]?.options(), sharded: false }),
  { interrupt: killSubscribers(topologies[1] as Topology) },
)
