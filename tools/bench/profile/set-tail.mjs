// Sequential set() latency over a run, and where its slow samples fall: `node set-tail.mjs
// <writes> <mode>` with REDIS_URL. Modes: ours (memory + Redis + Redis backplane), ours-nobp
// (no backplane), ours-memonly, raw (SET then PUBLISH), raw-set, raw-corked. Prints the
// percentiles of the whole run and of its second half, how the slowest 1% spread over the
// run's tenths (bunched at the start: the JIT warming up), and how many overlap a GC pause.
import { PerformanceObserver, performance } from 'node:perf_hooks'
import { CacheManager } from '@cacheplane/core'
import { memoryHandle } from '@cacheplane/memory'
import { corkWrites, redisBackplane, redisHandle } from '@cacheplane/redis'
import { Redis } from 'ioredis'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const N = Number(process.argv[2] ?? 5000)
const mode = process.argv[3] ?? 'ours'

const gcs = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([e.startTime, e.duration])
}).observe({ entryTypes: ['gc'] })

async function writerFor(mode) {
  if (mode.startsWith('ours')) {
    const memory = memoryHandle({ maxEntries: 1000 })
    const handles = mode === 'ours-memonly' ? [memory] : [memory, redisHandle({ url })]
    const backplane = mode === 'ours' ? { backplane: redisBackplane({ url }) } : {}
    const cache = new CacheManager({ name: 'tail', handles, ...backplane })
    await cache.ready()
    return (p) => cache.set('hot', p)
  }
  const client = new Redis(url)
  if (mode === 'raw-corked') corkWrites(client)
  if (mode === 'raw-set' || mode === 'raw-corked') return (p) => client.set('rawhot', JSON.stringify(p))
  const publisher = new Redis(url)
  return async (p) => {
    const text = JSON.stringify(p)
    await client.set('rawhot', text)
    await publisher.publish('rawch', text)
  }
}

const write = await writerFor(mode)
const samples = []
for (let i = 0; i < N; i++) {
  const t0 = performance.now()
  await write({ seq: i, t0 })
  samples.push([t0, performance.now() - t0])
  await new Promise((resolve) => setImmediate(resolve))
}

const quantiles = (list) => {
  const sorted = list.map((s) => s[1]).sort((a, b) => a - b)
  return (q) => sorted[Math.floor(q * (sorted.length - 1))]
}
const overlapsGc = ([t0, d]) => gcs.some(([start, duration]) => start + duration >= t0 && start <= t0 + d)
const all = quantiles(samples)
const late = samples.slice(Math.floor(N / 2))
const second = quantiles(late)
const show = (q) =>
  ['p50', 'p90', 'p99'].map((name, i) => `${name} ${q([0.5, 0.9, 0.99][i]).toFixed(3)}`).join(' ')
console.log(mode, 'whole run:', show(all), 'max', all(1).toFixed(3), 'ms')
console.log(mode, 'second half:', show(second))
const slow = samples.map((s, i) => [s, i]).filter(([s]) => s[1] >= all(0.99))
const tenths = new Array(10).fill(0)
for (const [, i] of slow) tenths[Math.floor((i * 10) / N)]++
console.log(
  mode,
  'slowest 1% by tenth of the run:',
  tenths.join(' '),
  '| overlapping a GC:',
  slow.filter(([s]) => overlapsGc(s)).length,
  'of',
  slow.length,
)
const lateSlow = late.filter((s) => s[1] >= second(0.99))
console.log(
  mode,
  'second half slowest 1% overlapping a GC:',
  lateSlow.filter(overlapsGc).length,
  'of',
  lateSlow.length,
)
process.exit(0)
