import type { AxAIService } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import type { LearnBaseline, LearnProgramState } from './formats/types.generated.js'
import { createLimiter, type Limiter } from './optimize/limit.js'
import { programsFor } from './optimize/program.js'
import { evaluateCase } from './sampling.js'
import type { SomeLearnSpec } from './spec.js'
import { mean } from './stats.js'

export interface FreshBaselineInput {
  spec: SomeLearnSpec
  /** The accepted program: the one the checkpoint being written holds. */
  program: LearnProgramState
  /**
   * Services whose answers are new draws, not the ones a decision was made on. Through a tape (the
   * optimize call cache), the same tape the decision used: its occurrence counts go on from the
   * decision's calls, so each identical request is asked again.
   */
  student: AxAIService
  judge: AxAIService
  /** Cases evaluated at once (default 8), or a limiter shared with other work. */
  concurrency?: number
  limit?: Limiter
}

/**
 * A checkpoint's baseline: the accepted program evaluated afresh on the spec's cases, `samples`
 * replies per case as the spec's runs make them, each scored by the judge and metrics. A baseline
 * taken from the draws that won a decision would be biased upward (the winner's curse), and the
 * next run of the unchanged program would then look like a regression.
 *
 * A case that fails (a transient provider error) is left out: a 0 there would let any drop pass.
 */
export async function freshBaseline(input: FreshBaselineInput): Promise<LearnBaseline> {
  const { spec } = input
  const limit = input.limit ?? createLimiter(input.concurrency ?? 8)
  const program = programsFor(spec, input.program)
  const { modelConfig } = input.program
  const errors: string[] = []
  const evaluated = await Promise.all(
    spec.cases.map((item) =>
      limit(() => evaluateCase({ spec, item, program, student: input.student, judge: () => input.judge, ...(modelConfig ? { modelConfig } : {}) })).catch((error: unknown) => {
        errors.push(`${item.id}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`)
        return undefined
      }),
    ),
  )
  const scores = Object.fromEntries(evaluated.flatMap((score) => (score ? [[score.caseId, score.score] as const] : [])))
  if (Object.keys(scores).length === 0)
    throw new LearnError(`the baseline could not be measured: every case failed (${errors[0] ?? 'no cases'})`, { field: 'baseline' })
  return { mean: mean(Object.values(scores)), scores, samples: spec.samples }
}
