// A memory handle in a process that has run for DAYS days: bytes per entry (100,000 items of
// MODE, 'sliding' by default, 'absolute' or 'none'; structure only, keys and values made
// before) and garbage collections during 5 million hits. The clock is moved back DAYS days
// while the handle is made, as if that happened that long ago. (Not while the package loads:
// hits share a reading of the clock only when `Date.now` is the engine's own at load.)
// `node --expose-gc long-uptime.mjs [days] [mode]` in tools/bench.
import { PerformanceObserver } from 'node:perf_hooks'
import { memoryHandle } from '@cacheplane/memory'

const days = Number(process.argv[2] ?? 0)
const mode = process.argv[3] ?? 'sliding'
const realNow = Date.now
Date.now = () => realNow() - days * 86_400_000
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
  const ttl = mode === 'none' ? 0 : TTL
  handle.set(keys[i], undefined, {
    value: values[i],
    mode,
    ttl,
    expiresAt: ttl === 0 ? 0 : now + ttl,
    created: now,
  })
}
globalThis.gc()
globalThis.gc()
const bytes = (process.memoryUsage().heapUsed - before) / N

/** The hits, with a small-integer sum so that the loop itself allocates nothing. */
function hits(rounds) {
  let sum = 0
  for (let round = 0; round < rounds; round++)
    for (let i = 0; i < N; i++) sum = (sum + handle.get(keys[i], undefined).version) | 0
  return sum
}
hits(2) // compiled before the count starts
let collections = 0
const observer = new PerformanceObserver((list) => {
  collections += list.getEntries().length
})
observer.observe({ entryTypes: ['gc'] })
const sum = hits(50)
await new Promise((resolve) => setTimeout(resolve, 50))
observer.disconnect()
console.log(
  `handle made ${days} days ago, ${mode} items: ${bytes.toFixed(1)} bytes/entry; collections during ${50 * N} hits: ${collections} (checksum ${sum & 7})`,
)
