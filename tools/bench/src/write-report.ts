/** Writes latest.json, latest.md and the chart. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { renderMarkdown } from './markdown-report.js'
import type { BenchReport } from './results.js'
import { type ChartPanel, renderChart } from './svg-chart.js'

/** Where the files go. */
export interface ReportPaths {
  readonly json: string
  readonly markdown: string
  readonly chart: string
  /** A second copy of the chart (the docs' one), or undefined. */
  readonly docsChart?: string | undefined
  /**
   * Where a scale curve's own chart goes in the docs, by scenario name (`--scale` full runs
   * only), or undefined. Its panels then stay out of the main chart.
   */
  readonly scaleChart?: ((scenario: string) => string) | undefined
}

/** Scale curves (`--scale`) get a chart each; the other scenarios share the main one. */
function isScaleCurve(name: string): boolean {
  return name.startsWith('scale-')
}

/** The chart panels of a report (memory-hit and distributed-hit contribute them). */
export function chartPanels(report: BenchReport): ChartPanel[] {
  return report.scenarios.flatMap((s) => s.charts ?? [])
}

/** The panels of the main chart: every scenario's, or, with scale charts of their own, all but the curves'. */
function mainPanels(report: BenchReport, paths: ReportPaths): ChartPanel[] {
  if (paths.scaleChart === undefined) return chartPanels(report)
  return report.scenarios.filter((s) => !isScaleCurve(s.name)).flatMap((s) => s.charts ?? [])
}

/** Writes the three files; the chart only when some scenario drew one. Returns the Markdown. */
export function writeReport(report: BenchReport, paths: ReportPaths): string {
  const markdown = renderMarkdown(report)
  for (const path of [paths.json, paths.markdown, paths.chart]) mkdirSync(dirname(path), { recursive: true })
  writeFileSync(paths.json, `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(paths.markdown, markdown)
  const panels = mainPanels(report, paths)
  if (panels.length > 0) {
    const svg = renderChart(panels)
    writeFileSync(paths.chart, svg)
    if (paths.docsChart !== undefined) writeFileSync(paths.docsChart, svg)
  }
  const scaleChart = paths.scaleChart
  if (scaleChart !== undefined) {
    for (const scenario of report.scenarios) {
      if (!isScaleCurve(scenario.name) || (scenario.charts ?? []).length === 0) continue
      writeFileSync(scaleChart(scenario.name), renderChart(scenario.charts!))
    }
  }
  return markdown
}
