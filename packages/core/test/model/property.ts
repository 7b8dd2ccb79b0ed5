/**
 * The property: every generated history satisfies every invariant. Runs with fast-check
 * (seeded, shrinking), and on failure throws an error that says how to reproduce it (seed
 * and path) and shows the shrunk history and its timeline.
 */
import fc from 'fast-check'
import type { StoreSetup } from './cluster.js'
import { type GenerateOptions, type History, history } from './history.js'
import type { Recorder } from './record.js'
import { runHistory } from './runner.js'
import { formatHistory, formatTimeline, formatViolations } from './timeline.js'

/** Options of {@link checkModel}. */
export interface ModelOptions {
  /** The property's id (`memory`, `memory-faults`, ...): the report and `--property` name it. */
  readonly name: string
  readonly setup: StoreSetup
  readonly generate: GenerateOptions
  readonly runs: number
  readonly seed?: number | undefined
  readonly path?: string | undefined
  /** Only these invariants fail the property (default: all). */
  readonly only?: ReadonlySet<string> | undefined
}

/** The violation error a failing history throws inside the property (it carries the record). */
class HistoryFailed extends Error {
  constructor(readonly record: Recorder) {
    super(formatViolations(record))
  }
}

/** The record's violations that fail the property. */
function failing(record: Recorder, only: ReadonlySet<string> | undefined) {
  return only === undefined ? record.violations : record.violations.filter((v) => only.has(v.invariant))
}

/** Runs the property; resolves with the number of histories run, throws a readable report on failure. */
export async function checkModel(options: ModelOptions): Promise<number> {
  const property = fc.asyncProperty(history(options.generate), async (h) => {
    const grace = options.generate.grace ?? 0
    const mode = options.generate.sliding === true ? 'sliding' : 'absolute'
    const record = await runHistory(h, options.setup, grace > 0 ? { grace } : {}, mode)
    if (failing(record, options.only).length > 0) throw new HistoryFailed(record)
  })
  const details = await fc.check(property, {
    numRuns: options.runs,
    seed: options.seed,
    path: options.path,
    endOnFailure: options.path !== undefined,
  })
  if (!details.failed) return details.numRuns
  throw new Error(await report(options, details))
}

async function report(options: ModelOptions, details: fc.RunDetails<[History]>): Promise<string> {
  const [shrunk] = details.counterexample ?? []
  const error = details.errorInstance
  const record = error instanceof HistoryFailed ? error.record : undefined
  const steps = `--steps ${options.generate.maxSteps}`
  const flags = `--property ${options.name} ${steps} --seed ${details.seed} --path "${details.counterexamplePath}"`
  return [
    `model property ${options.name}: invariant violated after ${details.numRuns} histories, shrunk ${details.numShrinks} times`,
    record === undefined ? `  ${String(error)}` : formatViolations(record),
    `reproduce: pnpm test:model -- ${flags}`,
    shrunk === undefined ? '' : `history: ${formatHistory(shrunk)}`,
    record === undefined ? '' : `timeline:\n${formatTimeline(record)}`,
  ].join('\n')
}
