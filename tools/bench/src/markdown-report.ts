/** Renders a {@link BenchReport} as Markdown: the run header, one table per scenario, the targets. */
import { formatCell } from './format.js'
import type { BenchReport, ScenarioResult, TargetCheck } from './results.js'

/** Escapes what would break a table cell. */
function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

/** One scenario as a Markdown table (numbers right-aligned). */
export function renderTable(scenario: ScenarioResult): string {
  const { columns, rows } = scenario
  const header = `| ${columns.map((c) => escapeCell(c.title)).join(' | ')} |`
  const align = `|${columns.map((c) => (c.format === undefined ? ' --- ' : ' ---: ')).join('|')}|`
  const body = rows.map(
    (row) => `| ${columns.map((c) => escapeCell(formatCell(row[c.key], c.format))).join(' | ')} |`,
  )
  return [header, align, ...body].join('\n')
}

/** The targets of every scenario as one table. */
export function renderTargets(targets: readonly TargetCheck[]): string {
  const lines = ['| target | measured | met |', '| --- | --- | --- |']
  for (const t of targets) {
    lines.push(`| ${escapeCell(t.target)} | ${escapeCell(t.measured)} | ${t.met ? 'yes' : '**no**'} |`)
  }
  return lines.join('\n')
}

/** The whole report. */
export function renderMarkdown(report: BenchReport): string {
  const { run } = report
  const servers = Object.entries(run.servers)
    .map(([kind, url]) => `${kind} ${url}`)
    .join(', ')
  const parts = [
    `# cacheplane benchmarks (${run.quick ? 'quick run' : 'full run'})`,
    '',
    `- command: \`${run.command}\``,
    `- date: ${run.date}`,
    `- machine: ${run.cores} cores, ${run.cpu}, Node ${run.node}`,
    `- servers: ${servers === '' ? 'none' : servers}`,
  ]
  const targets: TargetCheck[] = []
  for (const scenario of report.scenarios) {
    parts.push('', `## ${scenario.title}`, '', scenario.description, '', renderTable(scenario))
    targets.push(...scenario.targets)
  }
  if (targets.length > 0) parts.push('', '## Targets', '', renderTargets(targets))
  return `${parts.join('\n')}\n`
}
