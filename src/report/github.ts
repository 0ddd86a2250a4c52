// GitHub Actions output of a run's report: workflow-command annotations on the spec's lines, and a
// Markdown table for the job's step summary ($GITHUB_STEP_SUMMARY).
import type { LearnReport, LearnReportSpec } from '../formats/types.generated.js'

export interface Annotation {
  level: 'error' | 'warning'
  /** The spec file, as the report has it (relative to the project root). */
  file: string
  line?: number
  title: string
  message: string
}

/** Cases annotated for a regression, the largest drops first. */
const annotatedDrops = 3

const firstLine = (text: string) => text.split('\n')[0] ?? ''
const fixed = (value: number) => value.toFixed(3)
const signed = (value: number) => `${value > 0 ? '+' : value < 0 ? '−' : '±'}${Math.abs(value).toFixed(3)}`
const noise = (p: number) => (p < 0.001 ? 'under 0.1%' : `${(p * 100).toFixed(p < 0.01 ? 1 : 0)}%`)

function specAnnotations(spec: LearnReportSpec): Annotation[] {
  const at = (line: number | undefined, level: Annotation['level'], title: string, message: string): Annotation => ({
    level,
    file: spec.file,
    ...(line ? { line } : {}),
    title: `vitest-learn ${spec.name}: ${title}`,
    message,
  })
  const annotations: Annotation[] = spec.cases
    .filter((item) => item.state === 'failed')
    .map((item) => at(item.line, 'error', 'case failed', `${item.name}: ${item.error ?? 'failed'}`))
  if (!spec.threshold.pass) annotations.push(at(spec.line, 'error', `mean under ${spec.threshold.value}`, spec.threshold.message ?? ''))
  const { regression } = spec
  if (regression.verdict === 'regressed' || regression.verdict === 'inconclusive') {
    const level = regression.pass ? 'warning' : 'error'
    const chance = regression.pNoise === undefined ? '' : `; the chance that noise alone dropped it this far: ${noise(regression.pNoise)}`
    annotations.push(at(spec.line, level, regression.verdict, `${firstLine(regression.message ?? '')}${chance}`))
    for (const drop of regression.drops.slice(0, annotatedDrops))
      annotations.push(at(drop.line, level, `${regression.verdict} case`, `${drop.name}: ${drop.before.toFixed(2)} → ${drop.after.toFixed(2)}: ${drop.reasons || '(no reasons given)'}`))
  } else if (!regression.pass) annotations.push(at(spec.line, 'error', 'regression check failed', regression.message ?? ''))
  for (const warning of regression.warnings) annotations.push(at(spec.line, 'warning', 'gate resolution', warning))
  return annotations
}

/** Errors for failed cases, failed checks and the cases a regression dropped most; warnings for inconclusive or coarse gates. */
export function annotationsOf(report: LearnReport): Annotation[] {
  return report.specs.flatMap(specAnnotations)
}

const escapeData = (text: string) => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
const escapeProperty = (text: string) => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C')

/** `::error file=…,line=…,title=…::message`, escaped as GitHub's toolkit does; `path` maps the report's file to the workspace. */
export function workflowCommand(annotation: Annotation, path: (file: string) => string): string {
  const properties = [
    `file=${escapeProperty(path(annotation.file))}`,
    ...(annotation.line ? [`line=${annotation.line}`] : []),
    `title=${escapeProperty(annotation.title)}`,
  ]
  return `::${annotation.level} ${properties.join(',')}::${escapeData(annotation.message)}`
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

function verdictOf(spec: LearnReportSpec): string {
  const { regression } = spec
  const failedCases = spec.cases.filter((item) => item.state === 'failed').length
  if (failedCases > 0 && spec.scored < spec.total) return `❌ ${spec.total - spec.scored} of ${spec.total} cases not scored`
  if (!spec.threshold.pass) return `❌ under threshold ${spec.threshold.value}`
  if (regression.verdict === 'regressed') return '❌ regressed'
  if (regression.verdict === 'inconclusive') return regression.pass ? '⚠️ inconclusive' : '❌ inconclusive'
  if (!regression.pass) return '❌ baseline stale'
  return regression.verdict === 'none' ? '✅ pass (no baseline)' : '✅ pass'
}

/** A Markdown table of the specs (mean ± interval, baseline, delta, verdict, cost), then what dropped in the failing ones. */
export function stepSummary(report: LearnReport): string {
  const rows = report.specs.map((spec) => {
    const { regression } = spec
    const half = (spec.interval[1] - spec.interval[0]) / 2
    return [
      `\`${spec.name}\``,
      `${fixed(spec.mean)} ± ${half.toFixed(3)} (${spec.scored}×${spec.samples})`,
      regression.baseline ? `${fixed(regression.baseline.mean)} (${regression.baseline.label})` : '—',
      regression.delta === undefined ? '—' : signed(regression.delta),
      verdictOf(spec),
      regression.detectableDrop === undefined ? '—' : `${regression.detectableDrop.toFixed(3)}${regression.detectableDrop > regression.tolerance ? ' ⚠️' : ''}`,
      `$${spec.cost.usd.toFixed(4)}`,
    ].map(cell)
  })
  const lines = [
    '### vitest-learn',
    '',
    '| spec | mean ± 95% CI (cases×samples) | baseline | Δ | verdict | catches drops ≥ | cost |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ]
  for (const spec of report.specs) {
    const { regression } = spec
    if (regression.verdict !== 'regressed' && regression.verdict !== 'inconclusive') continue
    lines.push('', `**${spec.name}**: ${regression.verdict}, allowed drop ${regression.tolerance}${regression.pNoise === undefined ? '' : `; chance of noise ${noise(regression.pNoise)}`}`, '')
    lines.push('| case | baseline → now | reasons |', '|---|---|---|')
    for (const drop of regression.drops.slice(0, 5)) lines.push(`| ${cell(drop.name)} | ${drop.before.toFixed(2)} → ${drop.after.toFixed(2)} | ${cell(drop.reasons)} |`)
  }
  return `${lines.join('\n')}\n`
}
