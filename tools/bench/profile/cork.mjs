// Raw ioredis SET rates: auto-pipelining, none, and none with corkWrites (the socket corked per tick).
// `node profile/cork.mjs` with REDIS_URL pointing at a running Redis.
import { corkWrites } from '@cacheplane/redis'
import { Redis } from 'ioredis'
const url = process.env.REDIS_URL
const clients = {
  auto: new Redis(url, { enableAutoPipelining: true }),
  none: new Redis(url),
  cork: new Redis(url),
}
corkWrites(clients.cork)
const v = JSON.stringify({ id: 1, name: 'user-1', email: 'user1@example.com', tags: ['a', 'b'] })
async function rate(client, c, ms) {
  let n = 0
  const end = performance.now() + ms
  const cpu = process.cpuUsage()
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (performance.now() < end) {
        await client.set(`k${n++ % 10000}`, v)
      }
    }),
  )
  const u = process.cpuUsage(cpu)
  return [n / (ms / 1000), (u.user + u.system) / n]
}
await Promise.all(Object.values(clients).map((c) => c.ping()))
for (const c of [1, 64])
  for (let r = 0; r < 3; r++) {
    const out = []
    for (const [name, client] of Object.entries(clients)) {
      const [ops, cpu] = await rate(client, c, 1500)
      out.push(`${name} ${(ops / 1000).toFixed(1)}k/s ${cpu.toFixed(1)}us`)
    }
    console.log(`c=${c}: ${out.join(' | ')}`)
  }
for (const c of Object.values(clients)) c.disconnect()
