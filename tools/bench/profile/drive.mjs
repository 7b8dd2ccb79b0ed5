// Drives one hot path for a CPU profile: `node --cpu-prof drive.mjs <path> <concurrency> <ms>`
// with REDIS_URL (and NATS_URL for propagation-nats) pointing at running servers. Prints
// the rate of ours and of the raw control measured in the same process, alternating.
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { corkWrites, redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'
import { KEY_COUNT, keyedLoad, keys, values } from './keyed-load.mjs'

const [path = 'set', concurrencyArg = '64', msArg = '4000', only = 'both'] = process.argv.slice(2)
const concurrency = Number(concurrencyArg)
const ms = Number(msArg)
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

async function rate(fn) {
  const { done, wallMs, cpuUs } = await keyedLoad(fn, concurrency, ms)
  cpuPerOp = cpuUs / done
  totalOps += done
  return done / (wallMs / 1000)
}
let cpuPerOp = 0
let totalOps = 0

const raw = new Redis(url, {
  enableAutoPipelining: concurrency > 1,
  ...(process.env.RAW_COMMAND_TIMEOUT ? { commandTimeout: Number(process.env.RAW_COMMAND_TIMEOUT) } : {}),
})
let cache
function ourConnection() {
  const kind = process.env.OURS_CLIENT
  if (kind === undefined) return { url }
  const client = new Redis(url, { enableAutoPipelining: kind === 'pipelined' })
  if (kind === 'corked') corkWrites(client)
  return { client }
}
if (path === 'set') {
  const connection = ourConnection()
  cache = new CacheManager({
    name: 'prof-set',
    // OURS_CLIENT=plain|pipelined|corked hands the handle a client of our own (no command timeout),
    // to measure what auto-pipelining and the per-command timer cost on this path; with
    // ONE_CLIENT=1 the backplane publishes on that client too (a set announced with its SET).
    handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 }), redisHandle(connection)],
    backplane: redisBackplane(
      process.env.ONE_CLIENT && connection.client ? { client: connection.client } : { url },
    ),
  })
} else {
  cache = new CacheManager({
    name: 'prof-get',
    handles: [memoryHandle({ maxEntries: 16 }), redisHandle(ourConnection())],
  })
}
await cache.ready()
const ours = path === 'set' ? (i) => cache.set(keys[i], values[i]) : (i) => cache.get(keys[i])
const control =
  path === 'set'
    ? (i) => raw.set(`raw:${keys[i]}`, JSON.stringify(values[i]))
    : async (i) => {
        const json = await raw.get(`raw:${keys[i]}`)
        return json === null ? undefined : JSON.parse(json)
      }
if (path === 'get') {
  for (let i = 0; i < KEY_COUNT; i++) {
    await cache.set(keys[i], values[i])
    await raw.set(`raw:${keys[i]}`, JSON.stringify(values[i]))
  }
}
for (let round = 0; round < 3; round++) {
  const r = only === 'raw' ? 0 : await rate(ours)
  const rCpu = cpuPerOp
  const c = only === 'ours' ? 0 : await rate(control)
  const cCpu = cpuPerOp
  console.log(
    `${path} @${concurrency} round ${round}: ours ${r.toFixed(0)}/s ${rCpu.toFixed(1)} us CPU/op; raw ${c.toFixed(0)}/s ${cCpu.toFixed(1)} us CPU/op; rate ratio ${(r / c).toFixed(2)}, CPU ratio ${(cCpu / rCpu).toFixed(2)}`,
  )
}
console.log(`ops ${totalOps}`)
await cache.close()
raw.disconnect()
// A client handed to the handle is never closed by it.
process.exit(0)
