/** What a scenario measured, in a shape both the Markdown writer and the JSON file use. */

/** One cell: a number (formatted by its column's unit) or text. */
export type Cell = number | string

/** One column of a scenario's table. */
export interface Column {
  /** Key into each row. */
  readonly key: string
  /** Header text. */
  readonly title: string
  /** How numbers in this column print: `ops` (1.23 M), `ms` (0.412), `ratio` (0.87x), `int`, `bytes`. */
  readonly format?: 'ops' | 'ms' | 'ratio' | 'int' | 'bytes'
}

/** A target of the issue and whether this run met it. */
export interface TargetCheck {
  /** The target as the issue states it. */
  readonly target: string
  /** What this run measured, in words and numbers. */
  readonly measured: string
  /** True when met. */
  readonly met: boolean
}

/** One bar of the chart: a subject and its rate. */
export interface ChartBar {
  readonly label: string
  readonly value: number
  /** Ours (highlighted) or a baseline. */
  readonly ours: boolean
}

/** Everything one scenario reports. */
export interface ScenarioResult {
  /** Short name, as `--only` takes it. */
  readonly name: string
  /** Section title. */
  readonly title: string
  /** One or two sentences: what was measured and how. */
  readonly description: string
  readonly columns: readonly Column[]
  readonly rows: ReadonlyArray<Readonly<Record<string, Cell>>>
  readonly targets: readonly TargetCheck[]
  /** Chart panels contributed by this scenario (title -> bars). */
  readonly charts?: ReadonlyArray<{
    readonly title: string
    readonly unit: string
    readonly bars: readonly ChartBar[]
  }>
}

/** The machine and the run. */
export interface RunInfo {
  readonly date: string
  readonly command: string
  readonly node: string
  readonly cpu: string
  readonly cores: number
  readonly quick: boolean
  readonly servers: Readonly<Record<string, string>>
}

/** The whole report: written as latest.json, rendered as latest.md. */
export interface BenchReport {
  readonly run: RunInfo
  readonly scenarios: readonly ScenarioResult[]
}
