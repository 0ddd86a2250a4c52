import type { AxAIService, AxGenOut } from '@ax-llm/ax'
import { forwardStep } from './forward.js'
import type { ProgramForRun } from './optimize/program.js'
import { scoreCase, type CaseScore } from './scoring.js'
import type { SomeLearnCase, SomeLearnSpec } from './spec.js'
import { mean } from './stats.js'
import { ToolRecorder } from './tool-recorder.js'

/** One reply of the student to a case, scored. */
export interface SampleScore extends CaseScore {
  prediction: AxGenOut
}

/** A case scored over its samples: the mean score, each scorer's mean, the worst reply's reasons. */
export interface SampledCase extends CaseScore {
  samples: SampleScore[]
}

export interface EvaluateCaseOptions {
  spec: SomeLearnSpec
  item: SomeLearnCase
  /** The program for one reply (see programsFor): its tools go through that reply's recorder. */
  program: ProgramForRun
  student: AxAIService
  judge: () => AxAIService
  /** The checkpoint's model settings, sent with each reply. */
  modelConfig?: Record<string, unknown>
  /** Runs each step (the reply, then its scoring) of sample `index`; by default, as it is. */
  step?: <T>(index: number, run: () => Promise<T>) => Promise<T>
}

/** Runs the case's input, after its conversation, through one run of the program, whose tools go through `tools`: one tape step. */
export function forwardCase(program: ProgramForRun, tools: ToolRecorder, item: SomeLearnCase, modelConfig: Record<string, unknown> | undefined): Promise<AxGenOut> {
  return forwardStep(program({ wrapTool: tools.wrap }), tools.service, item.input, { ...(modelConfig ? { modelConfig } : {}), ...(item.history ? { history: item.history } : {}) })
}

/**
 * Asks the student `spec.samples` times, one reply after the other, and scores each reply with what
 * the program did (its tool calls and steps). The requests are identical, so the tape tells them
 * apart by their occurrence index; one at a time keeps that index the same on every run (cases run
 * concurrently instead).
 */
export async function evaluateCase(options: EvaluateCaseOptions): Promise<SampledCase> {
  const { spec, item } = options
  const step = options.step ?? ((_index, run) => run())
  const samples: SampleScore[] = []
  for (let index = 0; index < spec.samples; index++) {
    const tools = ToolRecorder.forRun(options.student, spec.liveTools)
    const prediction = await step(index, () => forwardCase(options.program, tools, item, options.modelConfig))
    const score = await step(index, () => scoreCase(spec, item, prediction, options.judge, tools.trajectory))
    samples.push({ ...score, prediction })
  }
  return combineSamples(item.id, samples)
}

function combineSamples(caseId: string, samples: readonly SampleScore[]): SampledCase {
  const names = [...new Set(samples.flatMap((sample) => Object.keys(sample.scorers)))]
  const worst = samples.reduce((low, sample) => (sample.score < low.score ? sample : low), samples[0]!)
  return {
    caseId,
    score: mean(samples.map((sample) => sample.score)),
    scorers: Object.fromEntries(names.map((name) => [name, mean(samples.map((sample) => sample.scorers[name] ?? 0))])),
    reasons: worst.reasons,
    samples: [...samples],
  }
}
