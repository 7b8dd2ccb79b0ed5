#!/usr/bin/env node
// `pnpm test:model -- [--runs N] [--steps N] [--seed S] [--path P] [--property id,...] [--only inv,...] [--real]`
// Runs the model-based tests (issue 18) with these settings, passed to vitest through the
// environment (see env.ts). Without --real: the memory-store properties in packages/core
// (50,000 histories each by default, 100,000 in all); with --real: the Redis and Memcached
// properties in integration/ too (their servers are started by integration's global setup).
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const FLAGS = {
  '--runs': 'MODEL_RUNS',
  '--steps': 'MODEL_STEPS',
  '--seed': 'MODEL_SEED',
  '--path': 'MODEL_PATH',
  '--property': 'MODEL_PROPERTY',
  '--only': 'MODEL_ONLY',
}
const usage =
  'usage: pnpm test:model -- [--runs N] [--steps N] [--seed S] [--path P] [--property id,...] [--only inv,...] [--real]'

const env = { ...process.env, MODEL_RUNS: '50000' }
let real = false
const args = process.argv.slice(2).filter((arg) => arg !== '--')
for (let i = 0; i < args.length; i++) {
  const arg = args[i]
  const [flag, inline] = arg.split('=', 2)
  if (flag === '--real') real = true
  else if (flag in FLAGS && (inline ?? args[i + 1]) !== undefined) env[FLAGS[flag]] = inline ?? args[++i]
  else {
    console.error(`${arg === '--help' ? '' : `unknown argument '${arg}'\n`}${usage}`)
    process.exit(arg === '--help' ? 0 : 2)
  }
}

const root = fileURLToPath(new URL('../../../../', import.meta.url))
const runs = [{ cwd: `${root}packages/core`, file: 'test/model/model.test.ts' }]
if (real) runs.push({ cwd: `${root}integration`, file: 'test/model-real-stores.test.ts' })
let status = 0
for (const { cwd, file } of runs) {
  const steps = env.MODEL_STEPS === undefined ? '' : `, up to ${env.MODEL_STEPS} steps each`
  console.log(`\n> ${file} (${env.MODEL_RUNS} histories per property${steps})`)
  const result = spawnSync('pnpm', ['exec', 'vitest', 'run', file], { cwd, env, stdio: 'inherit' })
  status ||= result.status ?? 1
}
process.exit(status)
