// One set at a time (concurrency 1): process CPU (user, system) and wall time per call,
// for CacheManager with each backplane against raw SET and raw SET + PUBLISH in the same
// process. `REDIS_URL=... node sequential-set.mjs`; ONLY=redis runs just that variant
// (for `node --cpu-prof`).
import { CacheManager, createBackplaneHub, memoryBackplane } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const only = process.env.ONLY
const make = (name, backplane) =>
  new CacheManager({
    name,
    handles: [memoryHandle(), redisHandle({ url })],
    ...(backplane ? { backplane } : {}),
  })
const variants = {
  redis: make('seq-redis', redisBackplane({ url })),
  memory: make('seq-memory', memoryBackplane({ hub: createBackplaneHub() })),
  none: make('seq-none'),
}
const raw = new Redis(url)
const pub = new Redis(url)
for (const cache of Object.values(variants)) await cache.ready()

async function loop(name, f) {
  for (let i = 0; i < 300; i++) await f(i)
  const c = process.cpuUsage()
  const t = performance.now()
  for (let i = 0; i < 2000; i++) await f(i)
  const u = process.cpuUsage(c)
  const wall = ((performance.now() - t) * 1000) / 2000
  console.log(
    `${name.padEnd(32)} user ${(u.user / 2000).toFixed(1)} sys ${(u.system / 2000).toFixed(1)} us/op; wall ${wall.toFixed(1)} us/op`,
  )
}
for (let round = 0; round < 2; round++) {
  for (const [name, cache] of Object.entries(variants)) {
    if (only === undefined || only === name)
      await loop(`cache.set (${name} backplane)`, (i) => cache.set(`k${i % 100}`, i))
  }
  if (only !== undefined) continue
  await loop('raw SET', (i) => raw.set(`raw:k${i % 100}`, String(i)))
  await loop('raw SET + PUBLISH', async (i) => {
    await raw.set(`raw:k${i % 100}`, String(i))
    await pub.publish('bench-seq', 'x')
  })
}
for (const cache of Object.values(variants)) await cache.close()
raw.disconnect()
pub.disconnect()
