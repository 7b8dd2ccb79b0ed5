// A memory handle in a process that has run for DAYS days: bytes per entry (100,000 sliding
// items, structure only, keys and values made before) and collections during 5 million
// sliding hits. The clock is moved back DAYS days while the package loads and the handle is
// made, as if both happened that long ago. `node --expose-gc long-uptime.mjs [days]`.
import { PerformanceObserver } from 'node:perf_hooks'

const days = Number(process.argv[2] ?? 0)
const realNow = Date.now
Date.now = () => realNow() - days * 86_400_000
const { memoryHandle } = await import('@cacheplane/memory')
const handle = memoryHandle({ maxEntries: 200_000, sweepIntervalMs: 0 })
Date.now = realNow

const N = 100_000
const TTL = 3_600_000
const keys = Array.from({ length: N }, (_, i) => `key:${i}`)
const values = keys.map((_, i) => ({ i }))
globalThis.gc()
globalThis.gc()
const before = process.memoryUsage().heapUsed
for (let i = 0; i < N; i++) {
  const now = Date.now()
  handle.set(keys[i], undefined, { value: values[i], mode: 'sliding', ttl: TTL, expiresAt: now + TTL, created: now })
}
globalThis.gc()
globalThis.gc()
const bytes = (process.memoryUsage().heapUsed - before) / N

let collections = 0
const observer = new PerformanceObserver((list) => {
  collections += list.getEntries().length
})
observer.observe({ entryTypes: ['gc'] })
let sum = 0
for (let round = 0; round < 50; round++) for (let i = 0; i < N; i++) sum += handle.get(keys[i], undefined).version
await new Promise((resolve) => setTimeout(resolve, 50))
observer.disconnect()
console.log(
  `handle made ${days} days ago: ${bytes.toFixed(1)} bytes/entry; collections during ${50 * N} sliding hits: ${collections} (checksum ${sum % 7})`,
)
