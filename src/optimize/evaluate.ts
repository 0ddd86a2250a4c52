import type { AxAIService, AxGenOut } from '@ax-llm/ax'
import type { LearnProgramState } from '../formats/types.generated.js'
import { hashOf } from '../hash.js'
import { plainTrajectory, scoreCase, type CaseScore } from '../scoring.js'
import { mean } from '../stats.js'
import { forwardCase } from '../sampling.js'
import type { LearnTrajectory, SomeLearnCase, SomeLearnSpec } from '../spec.js'
import { ToolRecorder } from '../tool-recorder.js'
import { createLimiter, type Limiter } from './limit.js'
import { effectiveState, programsFor, stateKey, type ProgramForRun } from './program.js'

/** One case run on one program state and scored. */
export interface CaseEvaluation {
  caseId: string
  prediction: AxGenOut
  /** The tools it called and the model calls it made. */
  trajectory: LearnTrajectory
  score: number
  reasons: string
  /** The program or the judge failed on this case; it scores 0. */
  error?: string
  /** Not run because work was stopped (cost cap, interruption); it scores 0 and is never memoized. */
  skipped?: boolean
}

export interface EvaluatorOptions {
  spec: SomeLearnSpec
  student: AxAIService
  judge: AxAIService
  /** Cases evaluated at once (student call then judge call each). Default 8. */
  concurrency?: number
  /** A limiter shared with other evaluators, instead of one of `concurrency` slots. */
  limit?: Limiter
  /** Checked before each case; once true, cases are skipped instead of run. */
  stopped?: () => boolean
  /** Each failure, as it happens (the evaluation itself scores 0). */
  onError?: (caseId: string, message: string) => void
  /** A case's reference when it has none of its own (a synthetic case the teacher answers when first scored). */
  reference?: (item: SomeLearnCase) => Promise<AxGenOut | undefined>
}

const messageOf = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined
  return (cause && !message.includes(cause) ? `${message}: ${cause}` : message).split('\n')[0]!
}

/**
 * Runs cases on program states and scores them with the spec's judge and metric, a bounded number
 * at a time. Results are memoized by what determines them (the rendered program and the case), so
 * the search re-scoring a parent on a focus case, or the decision re-scoring a candidate, costs nothing.
 */
export class Evaluator {
  private readonly limit: Limiter
  private readonly evaluations = new Map<string, Promise<CaseEvaluation>>()
  private readonly scores = new Map<string, Promise<CaseScore>>()
  /** The programs of each state evaluated (see programsFor): built once, not for every case. */
  private readonly programs = new Map<string, ProgramForRun>()

  constructor(private readonly options: EvaluatorOptions) {
    this.limit = options.limit ?? createLimiter(options.concurrency ?? 8)
  }

  /**
   * Evaluates every case on one state, concurrently; results in the order of `items`. Background
   * work only takes slots no foreground work waits for.
   */
  async evaluateAll(state: LearnProgramState, items: readonly SomeLearnCase[], priority: 'foreground' | 'background' = 'foreground'): Promise<CaseEvaluation[]> {
    const effective = effectiveState(this.options.spec, state)
    return Promise.all(items.map((item) => this.evaluate(effective, item, priority)))
  }

  /** `state` must be effective (see effectiveState), so equal prompts share one memo entry. */
  private evaluate(state: LearnProgramState, item: SomeLearnCase, priority: 'foreground' | 'background'): Promise<CaseEvaluation> {
    const programKey = stateKey(state)
    const key = hashOf({ state: programKey, input: item.input, history: item.history, expected: item.expected, criteria: item.criteria })
    let pending = this.evaluations.get(key)
    if (!pending) {
      let programs = this.programs.get(programKey)
      if (!programs) this.programs.set(programKey, (programs = programsFor(this.options.spec, state)))
      const started = this.limit(() => this.run(programs, state, item), priority)
      this.evaluations.set(key, started)
      void started.then((result) => {
        if (result.skipped) this.evaluations.delete(key)
      })
      pending = started
    }
    // Two cases with the same input and criteria share one evaluation, each under its own id.
    return pending.then((result) => (result.caseId === item.id ? result : { ...result, caseId: item.id }))
  }

  private async run(programs: ProgramForRun, state: LearnProgramState, item: SomeLearnCase): Promise<CaseEvaluation> {
    const { spec } = this.options
    const tools = ToolRecorder.forRun(this.options.student, spec.liveTools)
    const outcome = (prediction: AxGenOut, rest: Pick<CaseEvaluation, 'score' | 'reasons' | 'error' | 'skipped'>): CaseEvaluation => ({
      caseId: item.id,
      prediction,
      trajectory: tools.trajectory,
      ...rest,
    })
    if (this.options.stopped?.()) return outcome({}, { score: 0, reasons: '', skipped: true })
    let prediction: AxGenOut = {}
    try {
      const [answer, expected] = await Promise.all([
        forwardCase(programs, tools, item, state.modelConfig),
        item.expected === undefined ? this.options.reference?.(item) : undefined,
      ])
      prediction = answer
      const verdict = await this.score(expected ? { ...item, expected } : item, prediction, tools.trajectory)
      return outcome(prediction, { score: verdict.score, reasons: verdict.reasons })
    } catch (error) {
      if (this.options.stopped?.()) return outcome(prediction, { score: 0, reasons: '', skipped: true })
      const message = messageOf(error)
      this.options.onError?.(item.id, message)
      return outcome(prediction, { score: 0, reasons: '', error: message })
    }
  }

  /** The spec's judge and metric on one prediction (and what the program did), memoized: equal ones are judged once. */
  private score(item: SomeLearnCase, prediction: AxGenOut, trajectory: LearnTrajectory = plainTrajectory()): Promise<CaseScore> {
    const key = hashOf({ input: item.input, history: item.history, expected: item.expected, criteria: item.criteria, prediction, trajectory })
    let pending = this.scores.get(key)
    if (!pending) {
      pending = scoreCase(this.options.spec, item, prediction, () => this.options.judge, trajectory)
      this.scores.set(key, pending)
      pending.catch(() => this.scores.delete(key))
    }
    return pending
  }
}

export interface ProgramScore {
  mean: number
  /** Score per case id. */
  perCase: Record<string, number>
  evaluations: CaseEvaluation[]
}

export function summarize(evaluations: readonly CaseEvaluation[]): ProgramScore {
  return {
    mean: mean(evaluations.map((evaluation) => evaluation.score)),
    perCase: Object.fromEntries(evaluations.map((evaluation) => [evaluation.caseId, evaluation.score])),
    evaluations: [...evaluations],
  }
}

export interface ScoreProgramOptions {
  spec: SomeLearnSpec
  /** Instruction, demos and component map to run the cases with. */
  program: LearnProgramState
  cases: readonly SomeLearnCase[]
  /** Services to call, e.g. TapeServices so the calls are recorded or replayed. */
  student: AxAIService
  judge: AxAIService
  concurrency?: number
}

/** Scores a program state on cases with the spec's judge and metric; failed cases score 0. */
export async function scoreProgram(options: ScoreProgramOptions): Promise<ProgramScore> {
  const evaluator = new Evaluator(options)
  return summarize(await evaluator.evaluateAll(options.program, options.cases))
}
