// CPU of the waiting side of distributedLock, one process: B's getOrAdd waits on a lock held
// by a raw owner and is woken by A's set; minus A's set alone. REDIS_URL must point at a Redis.
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'
const url = process.env.REDIS_URL
const n = Number(process.argv[2] ?? 2000)
const make = (lock) =>
  new CacheManager({
    name: 'w',
    handles: [memoryHandle(), redisHandle({ url })],
    backplane: redisBackplane({ url }),
    distributedLock: lock ? { ttlMs: 10_000, checkIntervalMs: 5_000 } : false,
  })
const a = make(false),
  b = make(true)
await a.ready()
await b.ready()
const raw = new Redis(url)
const sub = new Redis(url)
const pub = new Redis(url)
let arrived
sub.on('message', (_c, k) => arrived?.(k))
await sub.subscribe('w-raw')
const lockKey = (k) => `cacheplane:%lock:w::${k}`
async function measure(label, fn) {
  for (let i = 0; i < 200; i++) await fn(`w${label}${i}-${Math.random()}`)
  const cpu = process.cpuUsage()
  for (let i = 0; i < n; i++) await fn(`${label}${i}-${Math.random()}`)
  const used = process.cpuUsage(cpu)
  return (used.user + used.system) / n
}
const settle = () => new Promise((r) => setImmediate(r))
for (let r = 0; r < 2; r++) {
  const setOnly = await measure('s', async (k) => {
    await a.set(k, 'v')
    await settle()
  })
  const waited = await measure('w', async (k) => {
    await raw.set(lockKey(k), 'other', 'PX', 10000, 'NX')
    const got = b.getOrAdd(k, () => {
      throw new Error('b ran the factory')
    })
    await new Promise((r) => setTimeout(r, 0))
    await a.set(k, 'v')
    await got
  })
  const rawSet = await measure('rs', async (k) => {
    await raw.set(k, 'v')
    await pub.publish('w-raw', k)
    await settle()
  })
  const rawWait = await measure('rw', async (k) => {
    const message = new Promise((r) => (arrived = r))
    await raw.get(k)
    await Promise.all([raw.set(`lock:${k}`, 'o', 'PX', 10000, 'NX'), raw.get(k)])
    await raw.set(k, 'v')
    await pub.publish('w-raw', k)
    await message
    await raw.get(k)
  })
  console.log(
    `waiter CPU: ours ${(waited - setOnly).toFixed(1)} us (set alone ${setOnly.toFixed(1)}), raw ${(rawWait - rawSet).toFixed(1)} us (set+publish alone ${rawSet.toFixed(1)})`,
  )
}
await Promise.all([a.close(), b.close()])
raw.disconnect()
sub.disconnect()
pub.disconnect()
