/**
 * A dependency-free SVG bar chart: one panel per scenario, horizontal bars on a
 * linear scale of that panel's largest value, the number printed after each bar.
 */
import { formatRate } from './format.js'
import type { ChartBar } from './results.js'

/** One panel of the chart. */
export interface ChartPanel {
  readonly title: string
  readonly unit: string
  readonly bars: readonly ChartBar[]
}

const WIDTH = 820
const LABEL_WIDTH = 300
const BAR_AREA = 400
const BAR_HEIGHT = 18
const BAR_GAP = 6
const TITLE_HEIGHT = 30
const PANEL_GAP = 16

/** Escapes text for an SVG text node or attribute. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/** Renders the panels as one SVG document. */
export function renderChart(panels: readonly ChartPanel[]): string {
  const parts: string[] = []
  let y = 10
  for (const panel of panels) {
    parts.push(
      `<text x="10" y="${y + 18}" font-size="14" font-weight="bold">${escapeXml(panel.title)} (${escapeXml(panel.unit)})</text>`,
    )
    y += TITLE_HEIGHT
    const max = Math.max(...panel.bars.map((b) => b.value), Number.MIN_VALUE)
    for (const bar of panel.bars) {
      const width = Math.max(1, Math.round((bar.value / max) * BAR_AREA))
      const fill = bar.ours ? '#2f7ed8' : '#9aa5b1'
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${y + 13}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${width}" height="${BAR_HEIGHT}" fill="${fill}"/>`,
        `<text x="${LABEL_WIDTH + width + 6}" y="${y + 13}" font-size="12">${escapeXml(formatRate(bar.value))}</text>`,
      )
      y += BAR_HEIGHT + BAR_GAP
    }
    y += PANEL_GAP
  }
  const height = y + 10
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}
