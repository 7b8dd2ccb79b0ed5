import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { formatCell } from '../src/format.js'
import { renderMarkdown, renderTable } from '../src/markdown-report.js'
import { summarize } from '../src/percentiles.js'
import type { BenchReport, ScenarioResult } from '../src/results.js'
import { escapeXml, renderChart } from '../src/svg-chart.js'
import { writeReport } from '../src/write-report.js'

/**
 * A small well-formedness check for the SVG we write: tags nest and close, attribute
 * values are quoted, and text holds no raw `<` or `&` that is not an entity.
 */
function isWellFormed(xml: string): boolean {
  const stack: string[] = []
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y
  const entity = /&(amp|lt|gt|quot|apos);/y
  let i = 0
  while (i < xml.length) {
    const ch = xml[i]
    if (ch === '<') {
      tag.lastIndex = i
      const m = tag.exec(xml)
      if (m === null) return false
      const [, closing, name, , selfClosing] = m
      if (closing === '/') {
        if (stack.pop() !== name) return false
      } else if (selfClosing !== '/') {
        stack.push(name as string)
      }
      i = tag.lastIndex
    } else if (ch === '&') {
      entity.lastIndex = i
      if (entity.exec(xml) === null) return false
      i = entity.lastIndex
    } else if (ch === '>') {
      return false
    } else {
      i++
    }
  }
  return stack.length === 0
}

const scenario: ScenarioResult = {
  name: 'memory-hit',
  title: 'Memory-hit get',
  description: 'Every key is in memory.',
  columns: [
    { key: 'subject', title: 'subject' },
    { key: 'rate', title: 'gets/s', format: 'ops' },
    { key: 'ratio', title: 'vs lru', format: 'ratio' },
  ],
  rows: [
    { subject: 'CacheManager | memory', rate: 4_500_000, ratio: 0.5 },
    { subject: 'lru-cache <sync>', rate: 9_000_000, ratio: 1 },
  ],
  targets: [{ target: '>= 0.5x lru-cache', measured: '0.50x', met: true }],
  charts: [
    {
      title: 'Memory-hit get',
      unit: 'gets/s',
      bars: [
        { label: 'CacheManager & co', value: 4_500_000, ours: true },
        { label: 'lru-cache <sync>', value: 9_000_000, ours: false },
      ],
    },
  ],
}

const report: BenchReport = {
  run: {
    date: '2026-01-01T00:00:00.000Z',
    command: 'pnpm bench -- --quick',
    node: 'v20.0.0',
    cpu: 'Test CPU',
    cores: 2,
    quick: true,
    servers: { redis: 'redis://127.0.0.1:6379' },
  },
  scenarios: [scenario],
}

describe('markdown table', () => {
  it('has a header, an alignment row and one row per result, every row with the same cell count', () => {
    const lines = renderTable(scenario).split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toBe('| subject | gets/s | vs lru |')
    expect(lines[1]).toBe('| --- | ---: | ---: |')
    // A '|' inside a cell is escaped, so it does not add a column.
    const cells = (line: string) => line.split(/(?<!\\)\|/).length
    for (const line of lines) expect(cells(line)).toBe(cells(lines[0] as string))
    expect(lines[2]).toContain('CacheManager \\| memory')
    expect(lines[2]).toContain('4.50 M')
    expect(lines[2]).toContain('0.50x')
  })

  it('renders the run header, each scenario and the targets', () => {
    const markdown = renderMarkdown(report)
    expect(markdown).toContain('- machine: 2 cores, Test CPU, Node v20.0.0')
    expect(markdown).toContain('## Memory-hit get')
    expect(markdown).toContain('| >= 0.5x lru-cache | 0.50x | yes |')
    expect(markdown.endsWith('\n')).toBe(true)
  })

  it('formats numbers by unit', () => {
    expect(formatCell(12_345, 'ops')).toBe('12.3 k')
    expect(formatCell(0.41234, 'ms')).toBe('0.412')
    expect(formatCell(1234.4, 'int')).toBe('1,234')
    expect(formatCell('text', 'ops')).toBe('text')
    expect(formatCell(undefined, 'ops')).toBe('')
  })
})

describe('svg chart', () => {
  it('is one well-formed svg element with a bar per result, text escaped', () => {
    const svg = renderChart(scenario.charts ?? [])
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
    expect(svg.match(/<rect /g)).toHaveLength(3) // background + 2 bars
    expect(svg).toContain('CacheManager &amp; co')
    expect(svg).toContain('lru-cache &lt;sync&gt;')
    expect(isWellFormed(svg)).toBe(true)
    expect(isWellFormed('<svg><text>a < b</text></svg>')).toBe(false)
    expect(isWellFormed('<svg><text>a</svg>')).toBe(false)
  })

  it('scales the longest bar to the full width and keeps the others proportional', () => {
    const svg = renderChart(scenario.charts ?? [])
    const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="(\d+)"/g)].map((m) => Number(m[1]))
    expect(widths).toEqual([200, 400])
  })

  it('escapes every XML special character', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;')
  })
})

describe('percentiles', () => {
  it('reports nearest-rank p50, p99 and max', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i)
    expect(summarize(samples)).toEqual({ count: 100, p50: 50, p99: 99, max: 100 })
  })
})

describe('writeReport', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('writes JSON that parses back to the report, the Markdown and the chart', () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-report-'))
    const paths = {
      json: join(dir, 'r/latest.json'),
      markdown: join(dir, 'r/latest.md'),
      chart: join(dir, 'r/latest-chart.svg'),
      docsChart: join(dir, 'docs-chart.svg'),
    }
    const markdown = writeReport(report, paths)
    expect(JSON.parse(readFileSync(paths.json, 'utf8'))).toEqual(report)
    expect(readFileSync(paths.markdown, 'utf8')).toBe(markdown)
    const svg = readFileSync(paths.chart, 'utf8')
    expect(isWellFormed(svg)).toBe(true)
    expect(readFileSync(paths.docsChart, 'utf8')).toBe(svg)
  })

  it('gives each scale curve a chart of its own, and keeps its panels out of the main chart', () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-report-'))
    const base = report.scenarios[0]!
    const curve: ScenarioResult = {
      ...base,
      name: 'scale-propagation',
      charts: [
        {
          title: 'propagation p50 by instances',
          unit: 'ms',
          bars: [{ label: '2 instances', value: 0.5, ours: true }],
        },
      ],
    }
    const withCurve: BenchReport = { ...report, scenarios: [...report.scenarios, curve] }
    const scaleDir = dir
    const paths = {
      json: join(dir, 'r/latest.json'),
      markdown: join(dir, 'r/latest.md'),
      chart: join(dir, 'r/latest-chart.svg'),
      scaleChart: (name: string) => join(scaleDir, `${name}.svg`),
    }
    writeReport(withCurve, paths)
    const curveSvg = readFileSync(join(dir, 'scale-propagation.svg'), 'utf8')
    expect(isWellFormed(curveSvg)).toBe(true)
    expect(curveSvg).toContain('propagation p50 by instances')
    expect(readFileSync(paths.chart, 'utf8')).not.toContain('propagation p50 by instances')
  })
})
