// Bytes allocated per `set` (memory + Redis + Redis backplane, concurrency 64) by allocation
// site, garbage included: V8's sampling heap profiler with the objects minor and major GCs
// collected (`--heap-prof` keeps only what is still alive). `node alloc.mjs [ms]` with REDIS_URL.
import { Session } from 'node:inspector/promises'
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { KEY_COUNT, keyedLoad, keys, values } from './keyed-load.mjs'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const ms = Number(process.argv[2] ?? 2000)
const cache = new CacheManager({
  name: 'alloc',
  handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 }), redisHandle({ url })],
  backplane: redisBackplane({ url }),
})
await cache.ready()

const run = async (forMs) => (await keyedLoad((i) => cache.set(keys[i], values[i]), 64, forMs)).done

await run(1500) // warm-up: compiled code allocates differently from the interpreter
const session = new Session()
session.connect()
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 512,
  includeObjectsCollectedByMinorGC: true,
  includeObjectsCollectedByMajorGC: true,
})
const ops = await run(ms)
const { profile } = await session.post('HeapProfiler.stopSampling')
const bySite = new Map()
let total = 0
const walk = (node) => {
  const f = node.callFrame
  const where = f.url.replace(/^.*node_modules\//, '').replace(/^.*packages\//, '')
  const site = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`
  if (node.selfSize > 0) {
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
    total += node.selfSize
  }
  for (const child of node.children) walk(child)
}
walk(profile.head)
console.log(`${ops} sets, ${(total / ops).toFixed(0)} bytes allocated per set`)
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`${(bytes / ops).toFixed(0).padStart(6)} B/set  ${site}`)
await cache.close()
process.exit(0)
