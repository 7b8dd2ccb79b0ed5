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
}

/** The chart panels of a report (memory-hit and distributed-hit contribute them). */
export function chartPanels(report: BenchReport): ChartPanel[] {
  return report.scenarios.flatMap((s) => s.charts ?? [])
}

/** Writes the three files; the chart only when some scenario drew one. Returns the Markdown. */
export function writeReport(report: BenchReport, paths: ReportPaths): string {
  const markdown = renderMarkdown(report)
  for (const path of [paths.json, paths.markdown, paths.chart]) mkdirSync(dirname(path), { recursive: true })
  writeFileSync(paths.json, `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(paths.markdown, markdown)
  const panels = chartPanels(report)
  if (panels.length > 0) {
    const svg = renderChart(panels)
    writeFileSync(paths.chart, svg)
    if (paths.docsChart !== undefined) writeFileSync(paths.docsChart, svg)
  }
  return markdown
}
