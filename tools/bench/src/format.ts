import type { Cell, Column } from './results.js'

/** Formats a number for a column; text passes through. */
export function formatCell(cell: Cell | undefined, format: Column['format']): string {
  if (cell === undefined) return ''
  if (typeof cell === 'string') return cell
  if (!Number.isFinite(cell)) return String(cell)
  switch (format) {
    case 'ops':
      return formatRate(cell)
    case 'ms':
      return cell < 10 ? cell.toFixed(3) : cell.toFixed(1)
    case 'ratio':
      return `${cell.toFixed(2)}x`
    case 'int':
      return Math.round(cell).toLocaleString('en-US')
    case 'bytes':
      return cell.toFixed(1)
    default:
      return String(cell)
  }
}

/** 12_345_678 -> `12.35 M`, 45_678 -> `45.7 k`. */
export function formatRate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`
  return value.toFixed(0)
}
