// CPU per cold getOrAdd with distributedLock (factory returns at once), one at a time, against
// the raw commands of the same protocol. `node --cpu-prof profile/cold-cpu.mjs <n>` with REDIS_URL.
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'
const url = process.env.REDIS_URL
const n = Number(process.argv[2] ?? 3000)
const lock = process.argv[3] !== 'nolock'
const cache = new CacheManager({
  name: 'cpu',
  handles: [memoryHandle(), redisHandle({ url })],
  backplane: redisBackplane({ url }),
  distributedLock: lock ? { ttlMs: 10_000 } : false,
})
await cache.ready()
const raw = new Redis(url, { enableAutoPipelining: true })
const pub = new Redis(url)
async function measure(label, fn) {
  for (let i = 0; i < 300; i++) await fn(`w${label}${i}-${Math.random()}`)
  const cpu = process.cpuUsage()
  const t = performance.now()
  for (let i = 0; i < n; i++) await fn(`${label}${i}-${Math.random()}`)
  const used = process.cpuUsage(cpu)
  console.log(
    `${label}: ${((used.user + used.system) / n).toFixed(1)} us CPU/op, ${(((performance.now() - t) * 1000) / n).toFixed(1)} us wall/op`,
  )
}
for (let r = 0; r < 2; r++) {
  await measure('ours', (k) => cache.getOrAdd(k, () => 'v'))
  await measure('raw', async (k) => {
    await raw.get(k)
    await raw.set(`lock:${k}`, 'o', 'PX', 10000, 'NX')
    await raw.get(k)
    await raw.set(k, 'v', 'PX', 60000, 'NX')
    await pub.publish('cpu-raw', k)
    await raw.del(`lock:${k}`)
  })
}
await cache.close()
raw.disconnect()
pub.disconnect()
