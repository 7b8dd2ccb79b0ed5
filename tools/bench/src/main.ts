/**
 * `pnpm bench`: cacheplane against raw clients and peer libraries, every baseline
 * measured in the same run. Starts the servers it needs the way the tests do
 * (`@cacheplane/test-servers`), prints a Markdown table, and writes
 * `tools/bench/results/latest.{json,md}` and `docs/benchmarks-chart.svg`. When a run has
 * several scenarios, each runs in a process of its own (isolated.ts).
 *
 *   pnpm bench                      every scenario (a few minutes)
 *   pnpm bench -- --quick           a short run
 *   pnpm bench -- --only memory-hit
 *   pnpm bench -- --scale           every scenario plus the scale curves (long)
 */
import { fileURLToPath } from 'node:url'
import type { BenchContext, Scenario } from './context.js'
import { ScenarioProcessError, resultFile, runIsolated, writeResults } from './isolated.js'
import { machineInfo } from './machine.js'
import { type BenchOptions, parseBenchOptions, UsageError, usage } from './options.js'
import type { ScenarioResult } from './results.js'
import { bulk } from './scenarios/bulk.js'
import { coldKey } from './scenarios/cold-key.js'
import { connections } from './scenarios/connections.js'
import { distributedHit } from './scenarios/distributed-hit.js'
import { invalidation } from './scenarios/invalidation.js'
import { memoryEviction } from './scenarios/memory-eviction.js'
import { memoryHit } from './scenarios/memory-hit.js'
import { memoryPerEntry } from './scenarios/memory-per-entry.js'
import { otelOverhead } from './scenarios/otel-overhead.js'
import { propagation } from './scenarios/propagation.js'
import { scaleClearRegion } from './scenarios/scale-clear-region.js'
import { scaleMemory } from './scenarios/scale-memory.js'
import { scalePropagation } from './scenarios/scale-propagation.js'
import { setScenario } from './scenarios/set.js'
import { sharedPropagation } from './scenarios/shared-propagation.js'
import { scaleRemoveByTag, tagsMemoryHit } from './scenarios/tags.js'
import { Servers } from './servers.js'
import { type ReportPaths, writeReport } from './write-report.js'

const scenarios: readonly Scenario[] = [
  memoryHit,
  distributedHit,
  setScenario,
  propagation,
  invalidation,
  memoryPerEntry,
  memoryEviction,
  connections,
  sharedPropagation,
  otelOverhead,
  bulk,
  coldKey,
  tagsMemoryHit,
]

/** The scale curves: run with `--scale`, or by name with `--only`. */
const scaleScenarios: readonly Scenario[] = [
  scalePropagation,
  scaleMemory,
  scaleClearRegion,
  scaleRemoveByTag,
]

/** Where the report goes: results/ always; the docs' main chart only from a full run, a scale curve's from any run of it that is not --quick. */
function reportPaths(options: BenchOptions, selected: readonly Scenario[]): ReportPaths {
  const full = !options.quick && scenarios.every((s) => selected.includes(s))
  const at = (path: string) => fileURLToPath(new URL(path, import.meta.url))
  return {
    json: at('../results/latest.json'),
    markdown: at('../results/latest.md'),
    chart: at('../results/latest-chart.svg'),
    docsChart: full ? at('../../../docs/benchmarks-chart.svg') : undefined,
    // A curve's chart needs only that curve measured at full length (`--only scale-memory` too).
    scaleChart: options.quick ? undefined : (name) => at(`../../../docs/benchmarks-${name}.svg`),
  }
}

/** Runs the scenarios in order, each in a process of its own when `isolate` (see isolated.ts). */
async function runAll(
  selected: readonly Scenario[],
  context: BenchContext,
  isolate: boolean,
): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = []
  for (const scenario of selected) {
    const started = Date.now()
    if (isolate) results.push(...(await runIsolated(scenario.name, context.quick, context.servers)))
    else results.push(await scenario.run(context))
    // A child's parent says it.
    if (resultFile() === undefined) {
      context.log(`${scenario.name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    }
  }
  return results
}

async function main(): Promise<void> {
  const options = parseBenchOptions(
    process.argv.slice(2),
    [...scenarios, ...scaleScenarios].map((s) => s.name),
  )
  if (options.help) {
    console.log(usage)
    return
  }
  const servers = new Servers()
  const context: BenchContext = {
    servers,
    quick: options.quick,
    measure: options.quick
      ? { timeMs: 150, warmupMs: 50, rounds: 2 }
      : { timeMs: 400, warmupMs: 100, rounds: 5 },
    log: (line) => process.stderr.write(`${line}\n`),
  }
  const selected =
    options.only.length > 0
      ? [...scenarios, ...scaleScenarios].filter((s) => options.only.includes(s.name))
      : [...scenarios, ...(options.scale ? scaleScenarios : [])]
  const childResults = resultFile()
  try {
    // Several scenarios: each in a process of its own; one, or in a child: here.
    const results = await runAll(selected, context, childResults === undefined && selected.length > 1)
    if (childResults !== undefined) {
      writeResults(childResults, results)
      return
    }
    const args = process.argv.slice(2).filter((a) => a !== '--')
    const report = {
      run: {
        date: new Date().toISOString(),
        command: `pnpm bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
        node: process.version,
        ...machineInfo(),
        quick: options.quick,
        servers: await servers.urls(),
      },
      scenarios: results,
    }
    const markdown = writeReport(report, reportPaths(options, selected))
    process.stdout.write(markdown)
  } finally {
    await servers.stopAll()
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(
      error instanceof UsageError || error instanceof ScenarioProcessError ? error.message : error,
    )
    process.exit(1)
  },
)
