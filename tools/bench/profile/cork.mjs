// Raw ioredis SET rates: auto-pipelining, none, none + corked socket writes flushed on nextTick.
import { Redis } from 'ioredis'
const url = process.env.REDIS_URL
function corked(client) {
  const install = () => {
    const stream = client.stream
    const write = stream.write
    let corked = false
    const uncork = () => { corked = false; stream.uncork() }
    stream.write = function (...args) {
      if (!corked) { corked = true; stream.cork(); process.nextTick(uncork) }
      return write.apply(this, args)
    }
  }
  client.on('connect', install)
  return client
}
const clients = {
  auto: new Redis(url, { enableAutoPipelining: true }),
  none: new Redis(url),
  cork: corked(new Redis(url)),
}
const v = JSON.stringify({ id: 1, name: 'user-1', email: 'user1@example.com', tags: ['a', 'b'] })
async function rate(client, c, ms) {
  let n = 0
  const end = performance.now() + ms
  const cpu = process.cpuUsage()
  await Promise.all(Array.from({ length: c }, async () => { while (performance.now() < end) { await client.set(`k${n++ % 10000}`, v) } }))
  const u = process.cpuUsage(cpu)
  return [n / (ms / 1000), (u.user + u.system) / n]
}
await Promise.all(Object.values(clients).map((c) => c.ping()))
for (const c of [1, 64]) for (let r = 0; r < 3; r++) {
  const out = []
  for (const [name, client] of Object.entries(clients)) { const [ops, cpu] = await rate(client, c, 1500); out.push(`${name} ${(ops / 1000).toFixed(1)}k/s ${cpu.toFixed(1)}us`) }
  console.log(`c=${c}: ${out.join(' | ')}`)
}
for (const c of Object.values(clients)) c.disconnect()
