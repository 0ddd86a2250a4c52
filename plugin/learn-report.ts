// learn-report.json (schemas/report.schema.json): one entry per spec of the run, built from what its
// tests reported. The console summary, the GitHub annotations and step summary all render from it.
import { relative } from 'node:path'
import type { LearnReport, LearnReportSpec } from '../src/formats/types.generated.js'
import { assertFormat } from '../src/formats/validate.js'
import { rounded as round } from '../src/stats.js'
import type { Collected, SpecEntry } from './collect.js'

const roundAll = (scores: Record<string, number>) => Object.fromEntries(Object.entries(scores).map(([key, value]) => [key, round(value)]))

function specReport(name: string, entry: SpecEntry, root: string): LearnReportSpec | undefined {
  const threshold = entry.threshold?.meta
  const regression = entry.regression?.meta
  if (!threshold) return undefined
  const lines = new Map(entry.cases.map((item) => [item.id, item.line]))
  const metas = entry.cases.flatMap((item) => (item.meta ? [item.meta] : []))
  const sum = (pick: (meta: (typeof metas)[number]) => number) => metas.reduce((total, meta) => total + pick(meta), 0)
  const regressionPass = regression ? regression.pass : true
  return {
    name,
    file: relative(root, entry.file),
    ...(entry.threshold?.line ? { line: entry.threshold.line } : {}),
    pass: threshold.pass && regressionPass && entry.cases.every((item) => item.state !== 'failed'),
    record: threshold.record,
    mean: round(threshold.mean),
    interval: [round(threshold.interval[0]), round(threshold.interval[1])],
    scored: threshold.scored,
    total: threshold.total,
    samples: threshold.samples,
    judgeSamples: threshold.judgeSamples,
    scorers: roundAll(threshold.scorers),
    threshold: { value: threshold.threshold, pass: threshold.pass, ...(threshold.message ? { message: threshold.message } : {}) },
    regression: {
      verdict: regression?.verdict ?? 'none',
      pass: regressionPass,
      tolerance: threshold.tolerance,
      ...(regression?.baseline ? { baseline: { label: regression.baseline.label, mean: round(regression.baseline.mean) } } : {}),
      ...(regression?.comparison
        ? {
            delta: round(regression.comparison.delta),
            interval: [round(regression.comparison.interval[0]), round(regression.comparison.interval[1])] as [number, number],
            n: regression.comparison.n,
            pNoise: round(regression.comparison.pNoise),
          }
        : {}),
      ...(regression?.detectableDrop !== undefined ? { detectableDrop: round(regression.detectableDrop) } : {}),
      drops: (regression?.drops ?? []).map((drop) => {
        const line = lines.get(drop.caseId)
        return { case: drop.caseId, name: drop.name, ...(line ? { line } : {}), before: round(drop.before), after: round(drop.after), reasons: drop.reasons }
      }),
      warnings: regression?.warnings ?? [],
      ...(regression?.message ? { message: regression.message } : {}),
    },
    cost: {
      usd: round(sum((meta) => meta.costUsd)),
      tokens: sum((meta) => meta.usage.totalTokens),
      live: sum((meta) => meta.live),
      replayed: sum((meta) => meta.replayed),
    },
    cases: entry.cases.map((item) => ({
      id: item.id,
      name: item.name,
      ...(item.line ? { line: item.line } : {}),
      state: item.state,
      ...(item.meta?.score !== undefined ? { score: round(item.meta.score) } : {}),
      ...(item.meta?.samples ? { samples: item.meta.samples.map(round) } : {}),
      ...(item.meta?.scorers ? { scorers: roundAll(item.meta.scorers) } : {}),
      ...(item.meta?.reasons !== undefined ? { reasons: item.meta.reasons } : {}),
      ...(item.error ? { error: item.error } : {}),
    })),
  }
}

/** The report of a run: every spec whose checks ran, in the order of their names. */
export function buildReport(collected: Collected, root: string, created = new Date()): LearnReport {
  const specs = [...collected.specs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([name, entry]) => specReport(name, entry, root) ?? [])
  const report: LearnReport = { format: 1, created: created.toISOString(), specs }
  assertFormat('report', report, 'learn-report.json', 'this is a bug in vitest-learn: please report it')
  return report
}
