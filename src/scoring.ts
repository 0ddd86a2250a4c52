import type { AxAIService, AxGenOut } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import { runJudge } from './judge.js'
import { mean } from './stats.js'
import type { LearnResolvedCase, LearnSpec, LearnTrajectory } from './spec.js'

export interface CaseScore {
  caseId: string
  /** Mean of the judge's and the metric's scores, whichever exist. */
  score: number
  judge?: number
  metric?: number
  reasons: string
}

/** No tool called, one model call: what a program without tools did. */
export const plainTrajectory = (): LearnTrajectory => ({ toolCalls: [], steps: 1 })

/** Scores one prediction with the spec's judge and metric; both may look at what the program did (`trajectory`). */
export async function scoreCase<IN, OUT extends AxGenOut>(
  spec: LearnSpec<IN, OUT>,
  item: LearnResolvedCase<IN, OUT>,
  prediction: OUT,
  judgeService: () => AxAIService,
  trajectory: LearnTrajectory = plainTrajectory(),
): Promise<CaseScore> {
  const parts: number[] = []
  const reasons: string[] = []
  let judge: number | undefined
  let metric: number | undefined
  if (spec.metric) {
    const result = await spec.metric({ prediction, example: { ...item.input, ...item.expected } as IN & Partial<OUT>, trajectory })
    const value = typeof result === 'object' && result !== null ? result.score : result
    if (typeof value !== 'number' || !(value >= 0 && value <= 1))
      throw new LearnError(`metric returned ${JSON.stringify(result)} for case ${item.id}; it must return a number from 0 to 1, or { score, reason }`, {
        field: 'metric',
      })
    metric = value
    parts.push(value)
    const reason = typeof result === 'object' && typeof result.reason === 'string' ? result.reason.trim() : ''
    const told = reason || (value < 1 ? expectedFeedback(prediction, item.expected) : '')
    if (told) reasons.push(told)
    else if (!spec.judge) reasons.push(`metric ${value.toFixed(2)}`)
  }
  if (spec.judge) {
    const verdict = await runJudge(judgeService(), {
      rubric: spec.judge,
      input: item.history ? { history: item.history, input: item.input } : item.input,
      prediction,
      ...(spec.judgeTrajectory ? { trajectory } : {}),
      ...(item.criteria ? { criteria: item.criteria } : {}),
      ...(item.expected !== undefined ? { expected: item.expected } : {}),
    })
    judge = verdict.score
    parts.push(verdict.score)
    reasons.push(verdict.reasons)
  }
  const score = mean(parts)
  return { caseId: item.id, score, ...(judge !== undefined ? { judge } : {}), ...(metric !== undefined ? { metric } : {}), reasons: reasons.join(' ') }
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
