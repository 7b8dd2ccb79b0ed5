/** A demo instance in its own process: builds its cache, then runs the coordinator's commands. */
import { type Command, execute, listenRemote, type WorkerMessage } from './instance.js'
import { buildCache, type Topology } from './topology.js'

const [name, cacheName, topologyJson] = process.argv.slice(2)
if (name === undefined || cacheName === undefined || topologyJson === undefined) {
  throw new Error('usage: worker.js NAME CACHE_NAME TOPOLOGY_JSON (started by the demo)')
}
const send = (message: WorkerMessage) => process.send?.(message)
const cache = buildCache(cacheName, JSON.parse(topologyJson) as Topology)
listenRemote(name, cache, (heard) => send({ type: 'heard', heard }))
cache.on('error', (e) => console.error(`[${name}] ${e.operation} failed: ${e.error.message}`))
process.on('message', (command: Command) => {
  execute(cache, command).then(
    (result) => send({ type: 'reply', id: command.id, result }),
    (error: unknown) => send({ type: 'reply', id: command.id, error: String(error) }),
  )
})
process.on('disconnect', () => process.exit(0))

// Frames published before the subscription is live would be missed: announce readiness after it.
await cache.ready()
send({ type: 'ready' })
