// Drives one hot path for a CPU profile: `node --cpu-prof drive.mjs <path> <concurrency> <ms>`
// with REDIS_URL (and NATS_URL for propagation-nats) pointing at running servers. Prints
// the rate of ours and of the raw control measured in the same process, alternating.
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'

const [path = 'set', concurrencyArg = '64', msArg = '4000', only = 'both'] = process.argv.slice(2)
const concurrency = Number(concurrencyArg)
const ms = Number(msArg)
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const KEYS = 10_000
const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`)
const obj = (i) => ({
  id: i,
  name: `user-${i}`,
  email: `user${i}@example.com`,
  active: i % 2 === 0,
  score: (i % 1000) / 10,
  tags: ['bench', `group-${i % 16}`],
})
const values = keys.map((_, i) => obj(i))

async function rate(fn) {
  let next = 0
  let done = 0
  const end = performance.now() + ms
  const worker = async () => {
    while (performance.now() < end) {
      const i = next++ % KEYS
      await fn(i)
      done++
    }
  }
  const start = performance.now()
  const cpu = process.cpuUsage()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const used = process.cpuUsage(cpu)
  cpuPerOp = (used.user + used.system) / done
  totalOps += done
  return done / ((performance.now() - start) / 1000)
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
  return { client: new Redis(url, { enableAutoPipelining: kind === 'pipelined' }) }
}
if (path === 'set') {
  cache = new CacheManager({
    name: 'prof-set',
    // OURS_CLIENT=plain|pipelined hands the handle a client of our own (no command timeout),
    // to measure what auto-pipelining and the per-command timer cost on this path.
    handles: [memoryHandle({ maxEntries: KEYS * 2 }), redisHandle(ourConnection())],
    backplane: redisBackplane({ url }),
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
  for (let i = 0; i < KEYS; i++) {
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
