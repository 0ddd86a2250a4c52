import type { AxAIService, AxGenOut } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import { runJudge } from './judge.js'
import { mean } from './stats.js'
import type { LearnMetricArgs, LearnMetricResult, LearnResolvedCase, LearnSpec, LearnTrajectory } from './spec.js'

export interface CaseScore {
  caseId: string
  /** The mean of the scorers' scores. */
  score: number
  /** Each scorer's score: `judge`, `metric` and the spec's named `metrics`. */
  scorers: Record<string, number>
  reasons: string
}

/** The spec's deterministic scorers by name: `metric`, then its named `metrics`. */
function metricsOf<IN, OUT extends AxGenOut>(spec: LearnSpec<IN, OUT>): [string, (args: LearnMetricArgs<IN, OUT>) => LearnMetricResult | Promise<LearnMetricResult>][] {
  const named = Object.entries(spec.metrics ?? {})
  return spec.metric ? [['metric', spec.metric], ...named] : named
}

/** No tool called, one model call: what a program without tools did. */
export const plainTrajectory = (): LearnTrajectory => ({ toolCalls: [], steps: 1 })

/**
 * Scores one prediction with the spec's metrics and judge (the mean of `judgeSamples` verdicts);
 * both may look at what the program did (`trajectory`). Its reasons: what the metrics said (a
 * `{ score, reason }`, or what differs from `expected`) and the judge's; with neither, each
 * scorer's score.
 */
export async function scoreCase<IN, OUT extends AxGenOut>(
  spec: LearnSpec<IN, OUT>,
  item: LearnResolvedCase<IN, OUT>,
  prediction: OUT,
  judgeService: () => AxAIService,
  trajectory: LearnTrajectory = plainTrajectory(),
): Promise<CaseScore> {
  const scorers: Record<string, number> = {}
  const reasons: string[] = []
  for (const [name, scorer] of metricsOf(spec)) {
    const result = await scorer({ prediction, example: { ...item.input, ...item.expected } as IN & Partial<OUT>, trajectory })
    const value = typeof result === 'object' && result !== null ? result.score : result
    const field = name === 'metric' ? 'metric' : `metrics.${name}`
    if (typeof value !== 'number' || !(value >= 0 && value <= 1))
      throw new LearnError(`${field} returned ${JSON.stringify(result)} for case ${item.id}; it must return a number from 0 to 1, or { score, reason }`, { field })
    scorers[name] = value
    if (typeof result === 'object' && typeof result.reason === 'string' && result.reason.trim() !== '') reasons.push(result.reason.trim())
  }
  // A metric that failed without saying why: what differs from `expected` ("priority: expected high, got normal").
  if (reasons.length === 0 && Object.values(scorers).some((value) => value < 1)) {
    const differs = expectedFeedback(prediction, item.expected)
    if (differs) reasons.push(differs)
  }
  if (spec.judge) {
    const verdicts = []
    for (let draw = 0; draw < spec.judgeSamples; draw++) {
      verdicts.push(
        await runJudge(judgeService(), {
          rubric: spec.judge,
          input: item.history ? { history: item.history, input: item.input } : item.input,
          prediction,
          ...(spec.judgeTrajectory ? { trajectory } : {}),
          ...(item.criteria ? { criteria: item.criteria } : {}),
          ...(item.expected !== undefined ? { expected: item.expected } : {}),
        }),
      )
    }
    scorers.judge = mean(verdicts.map((verdict) => verdict.score))
    reasons.push([...new Set(verdicts.map((verdict) => verdict.reasons))].join(' / '))
  }
  const summary = Object.entries(scorers).map(([name, value]) => `${name} ${value.toFixed(2)}`).join('; ')
  return { caseId: item.id, score: mean(Object.values(scorers)), scorers, reasons: reasons.filter(Boolean).join(' ') || summary }
}

/**
 * What a metric-only case says when it fails: each output field the prediction got wrong, as
 * "priority: expected high, got normal", so a proposer sees the right answer next to the input.
 */
function expectedFeedback(prediction: Record<string, unknown>, expected: Record<string, unknown> | undefined): string {
  if (!expected) return ''
  const shown = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value))
  return Object.entries(expected)
    .filter(([field, value]) => JSON.stringify(prediction[field]) !== JSON.stringify(value))
    .map(([field, value]) => `${field}: expected ${shown(value)}, got ${prediction[field] === undefined ? 'nothing' : shown(prediction[field])}.`)
    .join(' ')
}
