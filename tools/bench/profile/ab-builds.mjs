// Two builds of the write path in one process: `node ab-builds.mjs <checkoutA> <checkoutB>
// [concurrency] [rounds]` with REDIS_URL, each checkout built (`pnpm build`). Each build gets
// its own CacheManager (memory + Redis + Redis backplane); they take turns in rounds of 300 ms,
// alternating which goes first, and the CPU per set is summed over the rounds, so drift of a
// shared machine lands on both. Prints CPU per set and sets per second of each.
import { KEY_COUNT, keyedLoad, keys, values } from './keyed-load.mjs'

const [dirA, dirB, concurrencyArg = '64', roundsArg = '30'] = process.argv.slice(2)
if (dirA === undefined || dirB === undefined) throw new Error('usage: ab-builds.mjs <checkoutA> <checkoutB>')
const concurrency = Number(concurrencyArg)
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
async function cacheOf(name, dir) {
  const { CacheManager } = await import(`${dir}/packages/core/dist/index.js`)
  const { memoryHandle } = await import(`${dir}/packages/memory/dist/index.js`)
  const { redisBackplane, redisHandle } = await import(`${dir}/packages/redis/dist/index.js`)
  const cache = new CacheManager({
    name,
    handles: [memoryHandle({ maxEntries: KEY_COUNT * 2 }), redisHandle({ url })],
    backplane: redisBackplane({ url }),
  })
  await cache.ready()
  return cache
}

const caches = { A: await cacheOf('ab-a', dirA), B: await cacheOf('ab-b', dirB) }
const totals = { A: { cpu: 0, sets: 0, ms: 0 }, B: { cpu: 0, sets: 0, ms: 0 } }

async function round(label, ms) {
  const cache = caches[label]
  const { done, wallMs, cpuUs } = await keyedLoad((i) => cache.set(keys[i], values[i]), concurrency, ms)
  totals[label].cpu += cpuUs
  totals[label].sets += done
  totals[label].ms += wallMs
}

for (let r = 0; r < 4; r++) for (const label of ['A', 'B']) await round(label, 300) // warm-up
for (const t of Object.values(totals)) Object.assign(t, { cpu: 0, sets: 0, ms: 0 })
for (let r = 0; r < Number(roundsArg); r++)
  for (const label of r % 2 ? ['A', 'B'] : ['B', 'A']) await round(label, 300)
for (const [label, { cpu, sets, ms }] of Object.entries(totals)) {
  const dir = label === 'A' ? dirA : dirB
  console.log(
    `${label} ${dir}: ${(cpu / sets).toFixed(2)} us CPU/set, ${((sets / ms) * 1000).toFixed(0)} sets/s`,
  )
}
await caches.A.close()
await caches.B.close()
process.exit(0)
