import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { AxAIService, AxGen, AxGenOut } from '@ax-llm/ax'
import { LearnError } from '../errors.js'
import { fromLearnCheckpoint, toLearnCheckpoint } from '../formats/checkpoint-mapping.js'
import { hashOf } from '../hash.js'
import { readCheckpoint, writeCheckpoint } from '../optimize/checkpoint.js'
import { optimizeSpec } from '../optimize/optimize.js'
import type { OptimizeProgress, OptimizeResult } from '../optimize/types.js'
import { formatComparison } from '../stats.js'
import { defaultJudgeSamples, defaultSamples, defaultThreshold, defaultTolerance, type SomeLearnCase, type SomeLearnSpec } from '../spec.js'
import type { AxCheckpoint, AxStorage } from '../storage/types.js'
import type { AxLearnOptions } from './learn.js'

export interface AxLearnResult {
  /** Held-out score of the program the agent now runs. */
  score: number
  /** Held-out score gained against the previous checkpoint (or the seed); 0 when nothing was written. */
  improvement: number
  /** The checkpoint the agent now runs (0: none, the seed instruction). */
  checkpointVersion: number
  /** Whether a new checkpoint won and was saved. */
  written: boolean
  /** `0.620 → 0.810 (+0.190, 95% CI +0.120..+0.260, n=12)` */
  comparison: string
  stats: { trainingExamples: number; validationExamples: number; durationMs: number; calls: number; tokens: number; usd: number }
}

export interface AgentOptimizeInput {
  gen: AxGen<Record<string, unknown>, AxGenOut>
  options: AxLearnOptions
  storage: AxStorage
  current: AxCheckpoint | undefined
  /** The student: `options.studentAI`, else the service the agent last forwarded with. */
  student: AxAIService | undefined
}

/** The seed's progress events: round of total rounds, best score and its gain over the first round's. */
function progressFor(report: NonNullable<AxLearnOptions['onProgress']>) {
  let first: number | undefined
  return (event: OptimizeProgress) => {
    if (event.phase !== 'search' || event.round === 0) return
    first ??= event.bestScore
    report({ round: event.round, totalRounds: event.rounds, score: event.bestScore, improvement: event.bestScore - first })
  }
}

export const defaultRubric = 'The output is correct, complete and follows the instruction.'

/** The agent's examples as spec cases: input fields go to `input`, the rest is the reference output. */
function casesOf(gen: AgentOptimizeInput['gen'], examples: readonly Record<string, unknown>[]): SomeLearnCase[] {
  const inputs = new Set(gen.getSignature().getInputFields().map((field) => field.name))
  return examples.map((example, index) => {
    const input = Object.fromEntries(Object.entries(example).filter(([key]) => inputs.has(key)))
    const expected = Object.fromEntries(Object.entries(example).filter(([key]) => !inputs.has(key))) as SomeLearnCase['expected']
    const id = hashOf(input, 12)
    return { id, index, name: id, input, ...(Object.keys(expected ?? {}).length > 0 ? { expected } : {}) }
  })
}

/**
 * `agent.optimize()`: the same pipeline as `vitest-learn --optimize`, on the agent's examples,
 * its stored traces and synthetic data, saving a winning checkpoint to the agent's storage.
 */
export async function optimizeAgent(input: AgentOptimizeInput): Promise<{ result: OptimizeResult; checkpoint?: AxCheckpoint; summary: AxLearnResult }> {
  const { gen, options, storage, current } = input
  const field = (name: string) => ({ field: `AxLearn options.${name}` })
  if (options.checkpoints !== undefined)
    throw new LearnError(
      `optimize() cannot run here: this agent runs the checkpoint the test suite commits (${options.checkpoints}/${options.name}/checkpoint.json), and only the test suite writes it`,
      {
        ...field('checkpoints'),
        fix: `run npx vitest-learn --optimize, with traces: { storage: <this agent's storage URL> } in the plugin's options so it learns from this agent's traces; or drop checkpoints to keep optimize()'s checkpoints in the agent's storage`,
      },
    )
  if (!options.teacher)
    throw new LearnError('optimize() needs a teacher: a stronger model that proposes prompts, writes synthetic data and judges', field('teacher'))
  if (!input.student)
    throw new LearnError('optimize() needs the student model: call forward() once, or pass studentAI', field('studentAI'))
  const instruction = current?.instruction || gen.getInstruction()
  if (!instruction)
    throw new LearnError('optimize() needs a seed instruction: GEPA cannot improve an empty prompt', { ...field('instruction'), fix: 'call agent.setInstruction(...) first' })
  const spec: SomeLearnSpec = {
    kind: 'vitest-learn/spec',
    name: options.name,
    program: gen,
    instruction,
    cases: casesOf(gen, options.examples ?? []),
    judge: options.judge ?? options.criteria ?? (options.metric ? undefined : defaultRubric),
    ...(options.metric ? { metric: options.metric } : {}),
    threshold: defaultThreshold,
    tolerance: defaultTolerance,
    samples: defaultSamples,
    judgeSamples: defaultJudgeSamples,
    judgeTrajectory: false,
    liveTools: [],
    optimize: {
      budget: options.budget ?? 20,
      synthCount: options.synthCount ?? 50,
      useTraces: options.useTraces ?? true,
      generateExamples: options.generateExamples ?? true,
    },
  }
  // The pipeline keeps checkpoints in a snapshot folder; a scratch one bridges it to the agent's storage.
  const scratch = await mkdtemp(join(tmpdir(), 'vitest-learn-agent-'))
  const snapshotDir = join(scratch, options.name)
  const started = performance.now()
  try {
    if (current) await writeCheckpoint(snapshotDir, toLearnCheckpoint(current))
    const result = await optimizeSpec({
      spec,
      snapshotDir,
      cacheDir: resolve(options.cacheDir ?? 'node_modules/.cache/vitest-learn'),
      models: { student: input.student, teacher: options.teacher },
      storage,
      ...(options.validationSplit !== undefined ? { holdoutShare: options.validationSplit } : {}),
      ...(options.onProgress ? { onProgress: progressFor(options.onProgress) } : {}),
    })
    const written = result.decision === 'written' ? await readCheckpoint(snapshotDir) : undefined
    const checkpoint = written ? fromLearnCheckpoint(written) : undefined
    if (checkpoint) await storage.save(options.name, checkpoint)
    const summary: AxLearnResult = {
      score: checkpoint ? result.comparison.meanAfter : result.comparison.meanBefore,
      improvement: checkpoint ? result.comparison.delta : 0,
      checkpointVersion: checkpoint?.version ?? current?.version ?? 0,
      written: checkpoint !== undefined,
      comparison: formatComparison(result.comparison),
      stats: {
        trainingExamples: result.stats.train,
        validationExamples: result.stats.validation,
        durationMs: Math.round(performance.now() - started),
        calls: result.cost.calls,
        tokens: result.cost.usage.totalTokens,
        usd: result.cost.usd,
      },
    }
    return { result, ...(checkpoint ? { checkpoint } : {}), summary }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}
