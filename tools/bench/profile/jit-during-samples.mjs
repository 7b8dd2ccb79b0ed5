// What the JIT still compiles while the propagation scenario measures: runs `pnpm bench`'s
// propagation scenario (build it first) under `--trace-opt --trace-deopt` with a given warm-up,
// and counts, per transport, the functions compiled and deoptimized between the end of the
// warm-up and the end of the samples, in the writer and its listener (the listener inherits the
// flags and the output). `node jit-during-samples.mjs [warmup...]`, e.g. `3000 12000`; each run
// also prints the scenario's target row, so the p99 can be read next to the count.
import { spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const main = new URL('../dist/main.js', import.meta.url).pathname
const warmups = process.argv.length > 2 ? process.argv.slice(2) : ['3000', '12000']

for (const warmup of warmups) {
  // One file for both streams, so the trace lines and the progress lines keep their order.
  const path = join(mkdtempSync(join(tmpdir(), 'jit-')), 'out.txt')
  const fd = openSync(path, 'w')
  const run = spawnSync(process.execPath, ['--trace-opt', '--trace-deopt', main, '--only', 'propagation'], {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, PROPAGATION_WARMUP: warmup },
  })
  closeSync(fd)
  const lines = readFileSync(path, 'utf8').split('\n')
  if (run.status !== 0) {
    console.error(lines.slice(-20).join('\n'))
    process.exit(run.status ?? 1)
  }
  let transport = ''
  let measuring = false
  const counts = new Map()
  for (const line of lines) {
    const started = /^propagation: (Redis pub\/sub|NATS|BentoCache)/.exec(line)
    if (started) {
      transport = started[1]
      measuring = false
    } else if (line.startsWith('propagation: warmed up')) {
      measuring = true
      counts.set(transport, { compiled: [], deoptimized: 0 })
    } else if (measuring) {
      const compiled = /^\[completed compiling .*?<JSFunction ([^ >(]*)/.exec(line)
      if (compiled) counts.get(transport).compiled.push(compiled[1] || '(anonymous)')
      if (line.startsWith('[bailout')) counts.get(transport).deoptimized++
    }
  }
  console.log(`warm-up ${warmup} writes per setup`)
  for (const [name, { compiled, deoptimized }] of counts)
    console.log(
      `  ${name}: ${compiled.length} compiled, ${deoptimized} deoptimized while measuring: ${compiled.join(' ')}`,
    )
  for (const line of lines) if (line.includes('the raw SET-then-publish control')) console.log(`  ${line}`)
}
