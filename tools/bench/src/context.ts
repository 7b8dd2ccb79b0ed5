import type { MeasureOptions } from './measure.js'
import type { ScenarioResult } from './results.js'
import type { Servers } from './servers.js'

/** What every scenario gets from the runner. */
export interface BenchContext {
  readonly servers: Servers
  /** Short run (`--quick`): fewer samples, shorter tasks. */
  readonly quick: boolean
  /** Time per tinybench task. */
  readonly measure: MeasureOptions
  /** Progress lines (stderr, so stdout keeps only the table). */
  log(line: string): void
}

/** A named scenario. */
export interface Scenario {
  readonly name: string
  run(context: BenchContext): Promise<ScenarioResult>
}
