import type { LearnBaseline } from './formats/types.generated.js'
import type { CaseScore } from './scoring.js'
import { comparePaired, formatComparison, mean, regressed, type PairedComparison } from './stats.js'

export interface GateInput {
  threshold: number
  /** Every case the spec declares, in order. */
  cases: readonly { id: string; name: string }[]
  scores: readonly CaseScore[]
  /** Cases that could not be scored, with the first line of their error. */
  failures: ReadonlyMap<string, string>
  /** The committed checkpoint's per-case scores; a run may not fall below them by more than `tolerance`. */
  baseline?: { version: number; scores: LearnBaseline['scores'] }
  tolerance: number
  /** The checkpoint version the spec (cases, judge, metric, threshold) was edited after. */
  editedSince?: number
  /** For the commands in messages. */
  specFile: string
}

export interface GateResult {
  pass: boolean
  mean: number
  threshold: number
  scored: number
  total: number
  /** Lines for the failure message and the reporter. */
  message: string
  worst: { id: string; name: string; score: number; reasons: string }[]
  /** This run against the checkpoint's baseline, on the cases both scored. */
  regression?: PairedComparison
}

function compareWithBaseline(baseline: GateInput['baseline'], scores: readonly CaseScore[]): PairedComparison | undefined {
  if (!baseline) return undefined
  const paired = scores.filter((score) => baseline.scores[score.caseId] !== undefined)
  if (paired.length === 0) return undefined
  return comparePaired(
    paired.map((score) => baseline.scores[score.caseId]!),
    paired.map((score) => score.score),
  )
}

/** The spec's verdict: every case scored and the mean at or above the threshold. */
export function evaluateGate(input: GateInput): GateResult {
  const names = new Map(input.cases.map((item) => [item.id, item.name]))
  const average = mean(input.scores.map((score) => score.score))
  const worst = [...input.scores]
    .sort((a, b) => a.score - b.score)
    .slice(0, 3)
    .map((score) => ({ id: score.caseId, name: names.get(score.caseId) ?? score.caseId, score: score.score, reasons: score.reasons }))
  const problems: string[] = []
  if (input.failures.size > 0) {
    problems.push(`${input.failures.size} case(s) could not be scored:`)
    for (const [id, error] of input.failures) problems.push(`  - ${names.get(id) ?? id}: ${error}`)
  }
  const unscored = input.cases.length - input.scores.length
  if (input.scores.length === 0 && input.failures.size === 0) problems.push('no case ran, so there is no score to gate on')
  else if (unscored > 0)
    problems.unshift(`${input.scores.length} of ${input.cases.length} cases scored: the gate needs every case of the spec scored in this run`)
  if (input.scores.length > 0 && average < input.threshold) {
    problems.push(`mean score ${average.toFixed(3)} is under the threshold ${input.threshold} (${input.scores.length} of ${input.cases.length} cases scored)`)
    problems.push('worst cases:')
    for (const item of worst) problems.push(`  - ${item.score.toFixed(2)} ${item.name}: ${item.reasons || '(no reasons given)'}`)
  }
  const regression = input.editedSince === undefined ? compareWithBaseline(input.baseline, input.scores) : undefined
  if (input.editedSince !== undefined)
    problems.push(
      `the spec was edited after checkpoint v${input.editedSince}, so its baseline no longer applies. ` +
        `Re-optimize: npx vitest-learn --optimize ${input.specFile}, or accept this run's scores as the baseline: npx vitest-learn --accept ${input.specFile}`,
    )
  if (regression && input.baseline && regressed(regression, input.tolerance))
    problems.push(
      `regressed against checkpoint v${input.baseline.version}: ${formatComparison(regression)}; the allowed drop is ${input.tolerance}`,
    )
  return {
    ...(regression ? { regression } : {}),
    pass: problems.length === 0,
    mean: average,
    threshold: input.threshold,
    scored: input.scores.length,
    total: input.cases.length,
    message: problems.join('\n'),
    worst,
  }
}
