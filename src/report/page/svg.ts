// Inline SVG charts for the report page: a scatter of points with optional intervals, lines through
// some of them, and horizontal rules. Colours come from CSS classes, so one chart serves light mode,
// dark mode and print.
import { escapeHtml } from './escape.js'

export interface Tick {
  value: number
  label: string
}

export interface ChartPoint {
  x: number
  y: number
  /** An interval drawn as a vertical bar through the point. */
  low?: number
  high?: number
  className: string
  /** Shown on hover (the point's <title>) and read by screen readers. */
  title: string
}

export interface ChartLine {
  points: readonly (readonly [number, number])[]
  className: string
}

export interface ChartRule {
  y: number
  label: string
  className: string
}

export interface ChartSpec {
  /** The chart's accessible name. */
  title: string
  xLabel: string
  yLabel: string
  x: { min: number; max: number; ticks: readonly Tick[] }
  y: { min: number; max: number; ticks: readonly Tick[] }
  points: readonly ChartPoint[]
  lines?: readonly ChartLine[]
  rules?: readonly ChartRule[]
}

const width = 640
const height = 260
const margin = { left: 48, right: 16, top: 14, bottom: 42 }
const plotWidth = width - margin.left - margin.right
const plotHeight = height - margin.top - margin.bottom

const fixed = (value: number) => Number(value.toFixed(1)).toString()

/** Maps data to pixels; a domain of zero width maps to the middle. */
function scales(spec: ChartSpec): { sx: (value: number) => number; sy: (value: number) => number } {
  const span = (min: number, max: number) => (max > min ? max - min : 0)
  const xSpan = span(spec.x.min, spec.x.max)
  const ySpan = span(spec.y.min, spec.y.max)
  return {
    sx: (value) => margin.left + (xSpan === 0 ? plotWidth / 2 : ((value - spec.x.min) / xSpan) * plotWidth),
    sy: (value) => margin.top + plotHeight - (ySpan === 0 ? plotHeight / 2 : ((value - spec.y.min) / ySpan) * plotHeight),
  }
}

function axes(spec: ChartSpec, sx: (value: number) => number, sy: (value: number) => number): string {
  const bottom = margin.top + plotHeight
  const yTicks = spec.y.ticks
    .map((tick) => `<line class="grid" x1="${margin.left}" x2="${width - margin.right}" y1="${fixed(sy(tick.value))}" y2="${fixed(sy(tick.value))}"/><text class="tick" x="${margin.left - 6}" y="${fixed(sy(tick.value) + 4)}" text-anchor="end">${escapeHtml(tick.label)}</text>`)
    .join('')
  const xTicks = spec.x.ticks
    .map((tick) => `<line class="axis" x1="${fixed(sx(tick.value))}" x2="${fixed(sx(tick.value))}" y1="${bottom}" y2="${bottom + 4}"/><text class="tick" x="${fixed(sx(tick.value))}" y="${bottom + 16}" text-anchor="middle">${escapeHtml(tick.label)}</text>`)
    .join('')
  return [
    yTicks,
    `<line class="axis" x1="${margin.left}" x2="${width - margin.right}" y1="${bottom}" y2="${bottom}"/>`,
    `<line class="axis" x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${bottom}"/>`,
    xTicks,
    `<text class="label" x="${margin.left + plotWidth / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`,
    `<text class="label" transform="translate(12 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.yLabel)}</text>`,
  ].join('')
}

function rule(item: ChartRule, sy: (value: number) => number): string {
  const y = fixed(sy(item.y))
  return `<g class="${escapeHtml(item.className)}"><line x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}"/><text x="${width - margin.right - 4}" y="${fixed(sy(item.y) - 4)}" text-anchor="end">${escapeHtml(item.label)}</text></g>`
}

function point(item: ChartPoint, sx: (value: number) => number, sy: (value: number) => number): string {
  const x = fixed(sx(item.x))
  const bar = item.low !== undefined && item.high !== undefined ? `<line class="interval" x1="${x}" x2="${x}" y1="${fixed(sy(item.low))}" y2="${fixed(sy(item.high))}"/>` : ''
  return `<g class="${escapeHtml(item.className)}">${bar}<circle cx="${x}" cy="${fixed(sy(item.y))}" r="4.5"><title>${escapeHtml(item.title)}</title></circle></g>`
}

/** The chart as an <svg> element, labelled for screen readers. */
export function renderChart(spec: ChartSpec): string {
  const { sx, sy } = scales(spec)
  const lines = (spec.lines ?? [])
    .filter((line) => line.points.length > 1)
    .map((line) => `<polyline class="${escapeHtml(line.className)}" points="${line.points.map(([x, y]) => `${fixed(sx(x))},${fixed(sy(y))}`).join(' ')}"/>`)
    .join('')
  return [
    `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(spec.title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<title>${escapeHtml(spec.title)}</title>`,
    axes(spec, sx, sy),
    (spec.rules ?? []).map((item) => rule(item, sy)).join(''),
    lines,
    spec.points.map((item) => point(item, sx, sy)).join(''),
    '</svg>',
  ].join('')
}

/** Evenly spaced ticks over [min, max], at most `count` of them, labelled by `label`. */
export function linearTicks(min: number, max: number, count: number, label: (value: number) => string): Tick[] {
  if (!(max > min)) return [{ value: min, label: label(min) }]
  const steps = Math.max(1, count - 1)
  return Array.from({ length: steps + 1 }, (_, index) => min + ((max - min) * index) / steps).map((value) => ({ value, label: label(value) }))
}
