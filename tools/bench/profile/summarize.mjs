// Top self-time frames of a .cpuprofile: `node summarize.mjs file.cpuprofile [n]`.
import { readFileSync } from 'node:fs'
const [file, nArg = '25'] = process.argv.slice(2)
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map()
const dt = profile.timeDeltas
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i])
  const f = node.callFrame
  const name = `${f.functionName || '(anonymous)'} ${f.url
    .replace(/^.*node_modules\//, '')
    .replace(/^.*\/packages\//, '')
    .replace(/^file:\/\//, '')}:${f.lineNumber + 1}`
  const t = dt[i] ?? 0
  total += t
  self.set(name, (self.get(name) ?? 0) + t)
}
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(nArg))
for (const [name, t] of rows) console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${name}`)

// Inclusive time of frames whose name matches INCLUSIVE (a regex), counted once per sample.
if (process.env.INCLUSIVE) {
  const re = new RegExp(process.env.INCLUSIVE)
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const incl = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    const seen = new Set()
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id).callFrame
      const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^.*\/packages\//, '')}:${f.lineNumber + 1}`
      if (re.test(name) && !seen.has(name)) {
        seen.add(name)
        incl.set(name, (incl.get(name) ?? 0) + (dt[i] ?? 0))
      }
    }
  }
  console.log('--- inclusive')
  for (const [name, t] of [...incl.entries()].sort((a, b) => b[1] - a[1]))
    console.log(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${name}`)
}

// Self time by area, in us per operation when OPS (operations in the profiled run) is given.
if (process.env.AREAS) {
  const areas = [
    ['garbage collection', /\(garbage collector\)/],
    ['idle', /\(idle\)/],
    [
      'socket writes (writev/writeBuffer/utf8)',
      /^(writeBuffer|writev|writeUtf8String|writeLatin1String|utf8Write|encodeUtf8String) /,
    ],
    ['ioredis', /ioredis|redis-parser|denque|standard-as-callback/],
    ['nats client', /@nats-io/],
    ['core backplane (frames, bus)', /core\/dist\/backplane/],
    ['core serializer + envelope', /core\/dist\/(serializers|envelope|item-codec)/],
    ['core other', /core\/dist/],
    ['redis adapter', /redis\/dist/],
    ['nats adapter', /nats\/dist/],
    ['memory handle', /memory\/dist/],
    ['node internals', /node:|^\(program\)|^\(anonymous\) :0|runMicrotasks|^[A-Za-z_]+ :0/],
    ['driver', /drive\.mjs/],
  ]
  const sums = new Map()
  for (const [name, t] of self) {
    const area = areas.find(([, re]) => re.test(name))?.[0] ?? 'other'
    sums.set(area, (sums.get(area) ?? 0) + t)
  }
  const ops = Number(process.env.OPS ?? 0)
  console.log(`--- by area (total ${(total / 1000).toFixed(0)} ms${ops ? `, ${ops} ops` : ''})`)
  for (const [area, t] of [...sums.entries()].sort((a, b) => b[1] - a[1]))
    console.log(
      `${((100 * t) / total).toFixed(1).padStart(5)}%  ${ops ? `${(t / ops).toFixed(2).padStart(6)} us/op  ` : ''}${area}`,
    )
}
