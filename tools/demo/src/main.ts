/**
 * `pnpm demo`: three application instances sharing one cache, with a timeline of
 * who wrote, who was invalidated, which layer answered each read and how long
 * propagation took.
 *
 *   pnpm demo                                   in one process, no servers
 *   pnpm demo -- --redis redis://127.0.0.1:6379 separate processes over Redis (store + pub/sub)
 *   pnpm demo -- --memcached 127.0.0.1:11211 --nats nats://127.0.0.1:4222
 *   pnpm demo -- --redis URL --nats URL         Redis store, NATS backplane
 */
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createBackplaneHub } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { type DemoInstance, localInstance, workerInstance } from './instance.js'
import { runScenario } from './scenario.js'
import { Timeline } from './timeline.js'
import { buildCache, describeTopology, isInProcess, type Topology } from './topology.js'

const usage = `usage: pnpm demo [-- [--redis URL] [--memcached SERVERS] [--nats URL]]
  (no flags)          three instances in one process over an in-process store and backplane
  --redis URL         Redis as the shared store and (unless --nats) the backplane
  --memcached SERVERS Memcached as the shared store (needs --redis or --nats for the backplane)
  --nats URL          NATS as the backplane`

function parseTopology(argv: string[]): Topology {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      redis: { type: 'string' },
      memcached: { type: 'string' },
      nats: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(usage)
    process.exit(0)
  }
  if (values.redis !== undefined && values.memcached !== undefined) {
    throw new Error(`give one store: --redis or --memcached\n${usage}`)
  }
  const store =
    values.redis !== undefined
      ? ({ kind: 'redis', url: values.redis } as const)
      : values.memcached !== undefined
        ? ({ kind: 'memcached', servers: values.memcached } as const)
        : undefined
  const backplane =
    values.nats !== undefined
      ? ({ kind: 'nats', url: values.nats } as const)
      : values.redis !== undefined
        ? ({ kind: 'redis', url: values.redis } as const)
        : undefined
  if (store === undefined && backplane !== undefined) {
    throw new Error(`separate processes need a shared store: add --redis or --memcached\n${usage}`)
  }
  if (store !== undefined && backplane === undefined) {
    throw new Error(`separate processes need a backplane: add --redis or --nats\n${usage}`)
  }
  return { store, backplane }
}

async function main() {
  const topology = parseTopology(process.argv.slice(2))
  const timeline = new Timeline()
  // A fresh cache name per run: a demo against a real server never reads an earlier run's data.
  const cacheName = `demo-${randomUUID().slice(0, 8)}`
  const names = ['A', 'B', 'C'] as const
  let instances: DemoInstance[]
  // The in-process store is shared by the instances, so no manager closes it: we do, at the end.
  let sharedStore: { close(): unknown } | undefined
  if (isInProcess(topology)) {
    const shared = {
      store: memoryHandle({ name: 'shared-store', distributed: true }),
      hub: createBackplaneHub(),
    }
    sharedStore = shared.store
    instances = await Promise.all(
      names.map(async (name) => {
        const cache = buildCache(cacheName, topology, shared)
        await cache.ready()
        return localInstance(name, cache, (heard) => timeline.heard(heard))
      }),
    )
  } else {
    const worker = fileURLToPath(new URL('./worker.js', import.meta.url))
    instances = await Promise.all(
      names.map((name) =>
        workerInstance(name, worker, [cacheName, JSON.stringify(topology)], (heard) => timeline.heard(heard)),
      ),
    )
  }
  const where = isInProcess(topology) ? 'in this process' : 'as separate processes'
  console.log(`cacheplane demo: instances A, B and C ${where}, cache '${cacheName}'`)
  console.log(`each: ${describeTopology(topology)}`)
  timeline.begin()
  try {
    await runScenario(timeline, [instances[0]!, instances[1]!, instances[2]!])
    timeline.summary()
  } finally {
    await Promise.all(instances.map((instance) => instance.close()))
    sharedStore?.close()
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
