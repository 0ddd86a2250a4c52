import {
  AxGEPA,
  axSerializeOptimizedProgram,
  type AxGEPAAdapter,
  type AxGenOut,
  type AxMetricFn,
  type AxOptimizerArgs,
} from '@ax-llm/ax'
import { LearnError } from '../errors.js'
import type { LearnProgramState } from '../formats/types.generated.js'
import { mean } from '../stats.js'
import type { SomeLearnSpec } from '../spec.js'
import type { OptimizeServices } from './calls.js'
import { inputKey, type OptimizeCase } from './data.js'
import type { Evaluator } from './evaluate.js'
import { buildProgram, effectiveState } from './program.js'

/**
 * How `budget` maps onto GEPA (ax's AxGEPA, configured as notes/ax.md recommends).
 *
 * `budget` counts metric calls (one case run on the student and scored by the judge) that GEPA may
 * spend searching. On top of it GEPA pays one pass over its Pareto set, the head of the training
 * cases it selects candidates on, so `maxMetricCalls = paretoSize + budget`. A round costs
 * 2 × minibatch calls (parent and child on the same minibatch), plus paretoSize when the child wins
 * its minibatch and is scored on the Pareto set; repeated (parent) evaluations are served from the
 * evaluator's memo, so they cost budget but no model call.
 *
 * - minibatch: 3 when budget < 20, else 4 (notes/ax.md: 3 to 5 for a scalar metric);
 * - paretoSize: budget − 2 × minibatch, kept within 3..10 and the training set, so any budget of 9
 *   or more affords at least one full round with an accepted child;
 * - numTrials: budget / minibatch, an upper bound never reached first; earlyStoppingTrials equals it,
 *   so stagnation never cuts a scalar run short.
 */
export interface SearchPlan {
  minibatchSize: number
  paretoSize: number
  maxMetricCalls: number
  numTrials: number
}

export function searchPlan(budget: number, trainSize: number, minibatchSize?: number): SearchPlan {
  const minibatch = Math.max(1, Math.min(minibatchSize ?? (budget < 20 ? 3 : 4), trainSize))
  const paretoSize = Math.min(trainSize, Math.max(3, Math.min(10, budget - 2 * minibatch)))
  return {
    minibatchSize: minibatch,
    paretoSize,
    maxMetricCalls: paretoSize + budget,
    numTrials: Math.max(1, Math.ceil(budget / minibatch)),
  }
}

export interface SearchProgress {
  /** GEPA rounds started. */
  round: number
  /** Best mean score of a candidate on GEPA's Pareto set (training cases). */
  bestScore: number
  metricCalls: number
  maxMetricCalls: number
}

export interface SearchOptions {
  spec: SomeLearnSpec
  /** The program GEPA starts from (the current checkpoint's, or the seed). */
  start: LearnProgramState
  /** At least 2 cases. */
  train: readonly OptimizeCase[]
  evaluator: Evaluator
  services: Pick<OptimizeServices, 'student' | 'teacher'>
  budget: number
  minibatchSize?: number
  seed: number
  onProgress?: (progress: SearchProgress) => void
  onWarning?: (message: string) => void
}

export interface SearchResult {
  /** GEPA's best candidate, effective (see effectiveState). */
  state: LearnProgramState
  plan: SearchPlan
  progress: SearchProgress
  /** GEPA ended before the budget ran out. */
  converged: boolean
}

type Example = AxGenOut

/**
 * Runs GEPA over the training cases with the judge as metric and each case's judge reasons as
 * feedback. Batches are evaluated concurrently through the evaluator (ax would run them one by one).
 */
export async function runSearch(options: SearchOptions): Promise<SearchResult> {
  const { spec, evaluator } = options
  const start = effectiveState(spec, options.start)
  const plan = searchPlan(options.budget, options.train.length, options.minibatchSize)
  const progress: SearchProgress = { round: 0, bestScore: 0, metricCalls: 0, maxMetricCalls: plan.maxMetricCalls }
  if (options.budget <= 0) return { state: start, plan, progress, converged: false }

  const cases = new Map(options.train.map((item) => [inputKey(item.input), item]))
  const caseOf = (example: Example): OptimizeCase => {
    const item = cases.get(inputKey(example))
    if (!item) throw new Error(`GEPA passed an example that is not a training case: ${JSON.stringify(example).slice(0, 200)}`)
    return item
  }
  const examples = options.train.map((item) => ({ ...item.input }) as Example)
  let paretoBatch: readonly Example[] | undefined
  let bestScore = Number.NEGATIVE_INFINITY

  const adapter: AxGEPAAdapter<Example, unknown, Example> = {
    evaluate: async (batch, candidate, captureTraces) => {
      try {
        // GEPA's first evaluation is its Pareto set, and later full evaluations pass the same array.
        paretoBatch ??= batch
        if (captureTraces) progress.round++ // GEPA captures traces only for a round's parent minibatch
        const results = await evaluator.evaluateAll({ ...start, componentMap: { ...candidate } }, batch.map(caseOf))
        // Skipped cases (cost cap) count against GEPA's budget but are not reported as spent.
        progress.metricCalls += results.filter((result) => !result.skipped).length
        if (batch === paretoBatch && !results.some((result) => result.skipped)) {
          bestScore = Math.max(bestScore, mean(results.map((result) => result.score)))
          progress.bestScore = bestScore
        }
        options.onProgress?.({ ...progress })
        return { outputs: results.map((result) => result.prediction), scores: results.map((result) => result.score) }
      } catch (error) {
        options.onWarning?.(`GEPA's evaluation adapter failed, so ax falls back to evaluating one case at a time: ${(error as Error).message}`)
        throw error
      }
    },
    // GEPA's own proposer already sees the minibatch (input, prediction, score) and the judge's
    // reasons through feedbackFn; an empty dataset keeps it from repeating them as traces.
    make_reflective_dataset: () => ({}),
  }

  const metric: AxMetricFn = async ({ prediction, example }) =>
    (await evaluator.score(caseOf(example), prediction as unknown as Example)).score

  const args: AxOptimizerArgs & { paretoSetSize: number } = {
    studentAI: options.services.student,
    teacherAI: options.services.teacher,
    numTrials: plan.numTrials,
    minibatch: true,
    minibatchSize: plan.minibatchSize,
    earlyStoppingTrials: plan.numTrials,
    paretoSetSize: plan.paretoSize,
    seed: options.seed,
    verbose: false,
  }
  const result = await new AxGEPA(args)
    .compile(buildProgram(spec, start), examples, metric, {
      maxMetricCalls: plan.maxMetricCalls,
      validationExamples: examples.slice(0, plan.paretoSize),
      gepaAdapter: adapter,
      feedbackFn: ({ prediction, example }) => evaluator.feedbackFor(example, prediction),
      verbose: false,
    })
    .catch((error: unknown) => {
      throw new LearnError(`ax's GEPA failed: ${(error as Error).message}`, {
        field: 'optimize',
        fix: 'run vitest-learn --optimize again (paid calls are cached); if it fails the same way, report it with the spec',
      })
    })
  // Only the component map is taken: the serialized program also holds the whole training set.
  const componentMap = result.optimizedProgram ? axSerializeOptimizedProgram(result.optimizedProgram).componentMap : undefined
  return {
    state: effectiveState(spec, { ...start, ...(componentMap ? { componentMap } : {}) }),
    plan,
    progress,
    converged: progress.metricCalls + plan.minibatchSize <= plan.maxMetricCalls,
  }
}
