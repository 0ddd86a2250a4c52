import type { CaseScore } from './scoring.js'
import {
  comparePaired,
  detectableChange,
  formatComparison,
  mean,
  meanInterval,
  regressionVerdict,
  runToRunNoise,
  type PairedComparison,
  type RegressionVerdict,
} from './stats.js'

/** A case's score with the scores of its samples, when it has several. */
export interface GateCaseScore extends Pick<CaseScore, 'caseId' | 'score' | 'reasons'> {
  scorers?: CaseScore['scorers']
  samples?: readonly { score: number }[]
}

/** The scores a run is compared with. */
export interface GateBaseline {
  /** What they are, for messages: `checkpoint v3`, `checkpoint v3 at origin/main`, ... */
  label: string
  /** Score per case id. */
  scores: Readonly<Record<string, number>>
  /** Replies per case they were measured with (1 when unknown). */
  samples?: number
  /** Why this run cannot be compared with them (e.g. another judge): the verdict is then inconclusive. */
  incomparable?: string
}

export interface GateInput {
  threshold: number
  /** The drop of the mean allowed against the baseline. */
  tolerance: number
  /** Every case the spec declares, in order. */
  cases: readonly { id: string; name: string }[]
  scores: readonly GateCaseScore[]
  /** Cases that could not be scored, with the first line of their error. */
  failures: ReadonlyMap<string, string>
  baseline?: GateBaseline
  /** The checkpoint version the spec (cases, judge, metrics, threshold) was edited after: its baseline no longer applies. */
  editedSince?: number
  /** An inconclusive comparison fails (learn({ failOnInconclusive: true })). */
  failOnInconclusive?: boolean
  /** For the commands in messages. */
  specFile: string
}

/** A case whose score dropped against the baseline. */
export interface CaseDrop {
  caseId: string
  name: string
  before: number
  after: number
  reasons: string
}

export interface ThresholdResult {
  pass: boolean
  /** Why it failed; empty when it passed. */
  message: string
}

export interface RegressionResult {
  /** `none`: there is no baseline to compare with. */
  verdict: RegressionVerdict | 'none'
  pass: boolean
  baseline?: { label: string; mean: number }
  comparison?: PairedComparison
  /** Standard error of the mean per-case change between two runs of this program: the run-to-run noise. */
  noise?: number
  /** The smallest true drop the comparison catches 80% of the time at this noise and this many cases. */
  detectableDrop?: number
  /** The cases that dropped most, largest drop first. */
  drops: CaseDrop[]
  /** Why it failed, or why it is inconclusive; empty when it passed cleanly. */
  message: string
  /** Said whatever the verdict (e.g. the gate cannot resolve drops as small as the tolerance). */
  warnings: string[]
  /** One line: what was compared and what came out. */
  summary: string
}

export interface GateResult {
  mean: number
  /** 95% bootstrap interval of the mean over cases. */
  interval: [number, number]
  scored: number
  total: number
  /** Mean score of each scorer (judge, metric, named metrics) over the cases scored. */
  scorers: Record<string, number>
  /** Set when not every case scored: both checks then fail with it. */
  incomplete?: string
  worst: { id: string; name: string; score: number; reasons: string }[]
  threshold: ThresholdResult
  regression: RegressionResult
}

/** Cases listed in a failure message. */
const listed = 3

const percent = (p: number) => (p < 0.001 ? 'under 0.1%' : `${(p * 100).toFixed(p < 0.01 ? 1 : 0)}%`)

function incompleteMessage(input: GateInput, names: ReadonlyMap<string, string>): string | undefined {
  const lines: string[] = []
  const unscored = input.cases.length - input.scores.length
  if (input.scores.length === 0 && input.failures.size === 0) lines.push('no case ran, so there is no score to gate on')
  else if (unscored > 0) lines.push(`${input.scores.length} of ${input.cases.length} cases scored: the gate needs every case of the spec scored in this run`)
  if (input.failures.size > 0) {
    lines.push(`${input.failures.size} case(s) could not be scored:`)
    for (const [id, error] of input.failures) lines.push(`  - ${names.get(id) ?? id}: ${error}`)
  }
  return lines.length > 0 ? lines.join('\n') : undefined
}

function checkThreshold(input: GateInput, result: Pick<GateResult, 'mean' | 'interval' | 'worst' | 'incomplete'>): ThresholdResult {
  const lines = result.incomplete ? [result.incomplete] : []
  if (input.scores.length > 0 && result.mean < input.threshold) {
    lines.push(
      `mean score ${result.mean.toFixed(3)} is under the threshold ${input.threshold} ` +
        `(95% CI ${result.interval[0].toFixed(3)}..${result.interval[1].toFixed(3)}, ${input.scores.length} of ${input.cases.length} cases scored)`,
    )
    lines.push('worst cases:')
    for (const item of result.worst) lines.push(`  - ${item.score.toFixed(2)} ${item.name}: ${item.reasons || '(no reasons given)'}`)
  }
  return { pass: lines.length === 0, message: lines.join('\n') }
}

/** The run-to-run noise: from each case's spread over its samples, else from the spread of the paired deltas. */
function noiseOf(input: GateInput, deltas: readonly number[]): number | undefined {
  const fromSamples = runToRunNoise(
    input.scores.map((score) => (score.samples ?? [score]).map((sample) => sample.score)),
    input.baseline?.samples,
  )
  if (fromSamples !== undefined || deltas.length < 2) return fromSamples
  const average = mean(deltas)
  const spread = Math.sqrt(deltas.reduce((sum, value) => sum + (value - average) ** 2, 0) / (deltas.length - 1))
  return spread > 0 ? spread / Math.sqrt(deltas.length) : undefined
}

function checkRegression(input: GateInput, names: ReadonlyMap<string, string>, incomplete: string | undefined): RegressionResult {
  const { baseline, tolerance } = input
  const none = (message: string, summary: string): RegressionResult => ({ verdict: 'none', pass: message === '', drops: [], message, warnings: [], summary })
  if (input.editedSince !== undefined)
    return none(
      `the spec was edited after checkpoint v${input.editedSince}, so its baseline no longer applies. ` +
        `Re-optimize: npx vitest-learn --optimize ${input.specFile}, or accept this run's scores as the baseline: npx vitest-learn --accept ${input.specFile}`,
      `baseline of checkpoint v${input.editedSince} is stale: the spec was edited after it`,
    )
  if (!baseline) return none('', 'no baseline to compare with')
  const paired = input.scores.filter((score) => baseline.scores[score.caseId] !== undefined)
  if (paired.length === 0) return none('', `${baseline.label} scores none of this run's cases`)
  const before = paired.map((score) => baseline.scores[score.caseId]!)
  const after = paired.map((score) => score.score)
  const comparison = comparePaired(before, after)
  const noise = noiseOf(
    input,
    after.map((value, index) => value - before[index]!),
  )
  const detectableDrop = noise === undefined ? undefined : detectableChange(noise)
  const drops = paired
    .map((score) => ({ caseId: score.caseId, name: names.get(score.caseId) ?? score.caseId, before: baseline.scores[score.caseId]!, after: score.score, reasons: score.reasons }))
    .filter((drop) => drop.after < drop.before)
    .sort((a, b) => a.after - a.before - (b.after - b.before))
  const verdict = baseline.incomparable ? 'inconclusive' : regressionVerdict(comparison, tolerance)
  const against = `against ${baseline.label}: ${formatComparison(comparison)}`
  const samples = Math.max(...input.scores.map((score) => score.samples?.length ?? 1))
  const warnings: string[] = []
  if (detectableDrop !== undefined && detectableDrop > tolerance)
    warnings.push(
      `at ${paired.length} cases × ${samples} sample(s) this gate catches drops of ${detectableDrop.toFixed(3)} or more (4 times in 5), ` +
        `more than the tolerance ${tolerance}: smaller drops beyond the tolerance mostly pass unnoticed. Raise \`samples\` or add cases`,
    )
  if (detectableDrop === undefined)
    warnings.push('the noise of this gate is unknown (every case has one sample and the baseline matches exactly): set `samples` to 2 or more to measure it')
  const dropLines = drops.slice(0, listed).map((drop) => `  - ${drop.before.toFixed(2)} → ${drop.after.toFixed(2)} ${drop.name}: ${drop.reasons || '(no reasons given)'}`)
  const noiseLine = `the chance that noise alone moves the mean this far: ${percent(comparison.pNoise)}`
  const lines: string[] = incomplete ? [incomplete] : []
  if (verdict === 'regressed')
    lines.push(`regressed ${against}; the allowed drop is ${tolerance}`, noiseLine, 'cases that dropped most (baseline → now):', ...dropLines)
  if (verdict === 'inconclusive') {
    const why = baseline.incomparable ?? `dropped ${(-comparison.delta).toFixed(3)}, more than the allowed ${tolerance}, but noise could explain it`
    lines.push(
      `inconclusive ${against}: ${why}`,
      ...(baseline.incomparable ? [] : [noiseLine, 'cases that dropped most (baseline → now):', ...dropLines]),
      `to tell: raise \`samples\` (now ${samples}) or add cases${detectableDrop === undefined ? '' : `; at this noise the gate catches drops of ${detectableDrop.toFixed(3)} or more`}`,
    )
  }
  const fails = incomplete !== undefined || verdict === 'regressed' || (verdict === 'inconclusive' && input.failOnInconclusive === true)
  return {
    verdict,
    pass: !fails,
    baseline: { label: baseline.label, mean: mean(before) },
    comparison,
    ...(noise !== undefined ? { noise } : {}),
    ...(detectableDrop !== undefined ? { detectableDrop } : {}),
    drops,
    message: lines.join('\n'),
    warnings,
    summary: `${verdict} ${against}, allowed drop ${tolerance}`,
  }
}

/**
 * The spec's two checks: the mean reaches the threshold, and the scores did not regress against the
 * baseline beyond the tolerance (paired per case; see regressionVerdict). Both fail when not every
 * case scored.
 */
export function evaluateGate(input: GateInput): GateResult {
  const names = new Map(input.cases.map((item) => [item.id, item.name]))
  const values = input.scores.map((score) => score.score)
  const worst = [...input.scores]
    .sort((a, b) => a.score - b.score)
    .slice(0, listed)
    .map((score) => ({ id: score.caseId, name: names.get(score.caseId) ?? score.caseId, score: score.score, reasons: score.reasons }))
  const incomplete = incompleteMessage(input, names)
  const scorerNames = [...new Set(input.scores.flatMap((score) => Object.keys(score.scorers ?? {})))]
  const scorers = Object.fromEntries(scorerNames.map((name) => [name, mean(input.scores.map((score) => score.scorers?.[name] ?? 0))]))
  const partial = { mean: mean(values), interval: meanInterval(values), worst, ...(incomplete ? { incomplete } : {}) }
  return {
    ...partial,
    scored: input.scores.length,
    total: input.cases.length,
    scorers,
    threshold: checkThreshold(input, partial),
    regression: checkRegression(input, names, incomplete),
  }
}
