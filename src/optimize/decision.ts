import type { LearnProgramState } from '../formats/types.generated.js'
import { comparePaired, improved, type PairedComparison } from '../stats.js'
import type { SomeLearnCase } from '../spec.js'
import type { CaseEvaluation, Evaluator } from './evaluate.js'
import { stateKey } from './program.js'

export interface DecisionInput {
  evaluator: Evaluator
  /** The program in use (the current checkpoint, or the seed). */
  current: LearnProgramState
  candidate: LearnProgramState
  /** Always compared: the spec's own cases, which the gate checks. */
  specCases: readonly SomeLearnCase[]
  /** Held-out cases added, a batch at a time, while the comparison is unclear. */
  extraCases: readonly SomeLearnCase[]
  batchSize: number
  seed: number
}

export interface Decision {
  won: boolean
  comparison: PairedComparison
  /** Evaluations of every case compared, in order. */
  before: CaseEvaluation[]
  after: CaseEvaluation[]
}

/**
 * The held-out comparison: both programs on the spec's cases, growing by batches of the other
 * held-out cases until the paired bootstrap is clear (a win, or no gain) or they run out. Cases
 * either program failed on are left out of the comparison: a provider error is not a score.
 */
export async function decide(input: DecisionInput): Promise<Decision> {
  // The search kept the start: nothing to compare, which costs nothing more and is not an error.
  if (stateKey(input.current) === stateKey(input.candidate)) {
    const evaluations = await input.evaluator.evaluateAll(input.current, input.specCases)
    return { won: false, comparison: compare(evaluations, evaluations, input.seed), before: evaluations, after: evaluations }
  }
  const before: CaseEvaluation[] = []
  const after: CaseEvaluation[] = []
  const batches = [input.specCases, ...chunks(input.extraCases, input.batchSize)]
  let comparison: PairedComparison | undefined
  for (const batch of batches) {
    const [current, candidate] = await Promise.all([
      input.evaluator.evaluateAll(input.current, batch, 'foreground'),
      input.evaluator.evaluateAll(input.candidate, batch, 'foreground'),
    ])
    before.push(...current)
    after.push(...candidate)
    comparison = compare(before, after, input.seed)
    if (improved(comparison) || clearlyNoGain(comparison)) break
  }
  comparison ??= compare(before, after, input.seed)
  return { won: improved(comparison), comparison, before, after }
}

const scored = (evaluation: CaseEvaluation) => !evaluation.error && !evaluation.skipped

function compare(before: readonly CaseEvaluation[], after: readonly CaseEvaluation[], seed: number): PairedComparison {
  const pairs = before.map((evaluation, index) => [evaluation, after[index]!] as const).filter(([a, b]) => scored(a) && scored(b))
  return comparePaired(
    pairs.map(([a]) => a.score),
    pairs.map(([, b]) => b.score),
    { seed },
  )
}

/** More cases would not make a win likely: the interval already says the candidate is no better. */
const clearlyNoGain = (comparison: PairedComparison): boolean => comparison.significant && comparison.interval[1] <= 0

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = []
  for (let index = 0; index < items.length; index += size) result.push(items.slice(index, index + size))
  return result
}
