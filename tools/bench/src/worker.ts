/**
 * The other process of the cross-process scenarios. `node dist/worker.js <role> <json config>`,
 * forked by `child.ts`; it reports over IPC. Roles: the propagation listeners (a cache,
 * several caches on one backplane, BentoCache, raw Redis pub/sub, raw NATS), the
 * invalidation reader, the scale scenarios' counting listener, and the heap footprint probe.
 */
import {
  runBentoListener,
  runCacheListener,
  runRawNatsSubscriber,
  runRawRedisSubscriber,
} from './roles/listeners.js'
import { runColdLoader } from './roles/cold-loader.js'
import { runCountListener } from './roles/count-listener.js'
import { runFootprint } from './roles/footprint.js'
import { runInvalidationReader } from './roles/invalidation-reader.js'
import { runRawColdLoader } from './roles/raw-cold-loader.js'
import { runSharedCacheListener } from './roles/shared-listener.js'

const roles: Record<string, (config: never) => Promise<void>> = {
  'cache-listener': runCacheListener,
  'bento-listener': runBentoListener,
  'shared-cache-listener': runSharedCacheListener,
  'raw-redis-subscriber': runRawRedisSubscriber,
  'raw-nats-subscriber': runRawNatsSubscriber,
  'invalidation-reader': runInvalidationReader,
  'count-listener': runCountListener,
  'cold-loader': runColdLoader,
  'raw-cold-loader': runRawColdLoader,
  footprint: runFootprint,
}

const [role = '', config = '{}'] = process.argv.slice(2)
const run = roles[role]
if (run === undefined || process.send === undefined) {
  console.error(`worker: unknown role '${role}' (or not forked with IPC)`)
  process.exit(2)
}
process.on('message', (message: { type?: string }) => {
  if (message.type === 'exit') process.exit(0)
})
run(JSON.parse(config) as never).catch((error: unknown) => {
  process.send?.({
    type: 'error',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  })
  setTimeout(() => process.exit(1), 100)
})
