import type { AxAIService, AxGenOut } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import { runJudge } from './judge.js'
import { mean } from './stats.js'
import type { LearnMetricArgs, LearnResolvedCase, LearnSpec } from './spec.js'

export interface CaseScore {
  caseId: string
  /** The mean of the scorers' scores. */
  score: number
  /** Each scorer's score: `judge`, `metric` and the spec's named `metrics`. */
  scorers: Record<string, number>
  reasons: string
}

/** The spec's deterministic scorers by name: `metric`, then its named `metrics`. */
function metricsOf<IN, OUT extends AxGenOut>(spec: LearnSpec<IN, OUT>): [string, (args: LearnMetricArgs<IN, OUT>) => number | Promise<number>][] {
  const named = Object.entries(spec.metrics ?? {})
  return spec.metric ? [['metric', spec.metric], ...named] : named
}

/**
 * Scores one prediction with the spec's metrics and judge (the mean of `judgeSamples` verdicts).
 * Its reasons are the judge's; without a judge, each metric's score.
 */
export async function scoreCase<IN, OUT extends AxGenOut>(
  spec: LearnSpec<IN, OUT>,
  item: LearnResolvedCase<IN, OUT>,
  prediction: OUT,
  judgeService: () => AxAIService,
): Promise<CaseScore> {
  const scorers: Record<string, number> = {}
  for (const [name, scorer] of metricsOf(spec)) {
    const value = await scorer({ prediction, example: { ...item.input, ...item.expected } as IN & Partial<OUT> })
    const field = name === 'metric' ? 'metric' : `metrics.${name}`
    if (typeof value !== 'number' || !(value >= 0 && value <= 1))
      throw new LearnError(`${field} returned ${JSON.stringify(value)} for case ${item.id}; it must return a number from 0 to 1`, { field })
    scorers[name] = value
  }
  let reasons = Object.entries(scorers)
    .map(([name, value]) => `${name} ${value.toFixed(2)}`)
    .join('; ')
  if (spec.judge) {
    const verdicts = []
    for (let draw = 0; draw < spec.judgeSamples; draw++) {
      verdicts.push(
        await runJudge(judgeService(), {
          rubric: spec.judge,
          input: item.input,
          prediction,
          ...(item.criteria ? { criteria: item.criteria } : {}),
          ...(item.expected !== undefined ? { expected: item.expected } : {}),
        }),
      )
    }
    scorers.judge = mean(verdicts.map((verdict) => verdict.score))
    reasons = [...new Set(verdicts.map((verdict) => verdict.reasons))].join(' / ')
  }
  return { caseId: item.id, score: mean(Object.values(scorers)), scorers, reasons }
}
