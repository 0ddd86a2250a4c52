import { ax, type AxAIService, type AxGen } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import { hashOf } from './hash.js'
import type { LearnTrajectory } from './spec.js'
import { recordedCallOptions } from './tape/request.js'
import { inStep } from './tape/step.js'

export const judgeInstruction =
  'Grade the prediction strictly against the rubric, the case criteria and the reference output when given. ' +
  'Score 1 only when every requirement is met; take points off for each one missed. Give short, concrete reasons ' +
  'that say what to change.'

const judgeSignature =
  'task_input:json "The input the program received", prediction:json "The program output to grade", ' +
  'rubric:string "What a good output looks like", criteria?:string "Extra criteria for this case", ' +
  'reference?:json "A reference output" -> score:number "From 0 (fails the rubric) to 1 (meets it fully)", ' +
  'reasons:string "What is wrong or missing, briefly"'

/** A judge that also sees what the program did: the same fields and one more. */
const trajectorySignature = judgeSignature.replace(
  ' -> ',
  ', trajectory:json "What the program did to answer: each tool it called, in order, with its arguments and result or error; and its number of model calls (steps)" -> ',
)

interface JudgeInput {
  task_input: unknown
  prediction: unknown
  rubric: string
  criteria?: string
  reference?: unknown
  trajectory?: unknown
}
type JudgeOutput = {
  score: number
  reasons: string
}


export interface JudgeVerdict {
  score: number
  reasons: string
}

export interface JudgeRequest {
  rubric: string
  input: unknown
  prediction: unknown
  criteria?: string
  expected?: unknown
  /** Shown to the judge when the spec asks for it (`judge: { rubric, trajectory: true }`). */
  trajectory?: LearnTrajectory
}

const judgePrograms = new Map<string, AxGen<JudgeInput, JudgeOutput>>()

/** Built once per worker and shared, like a spec's program: ax takes about a millisecond to build one. */
function theJudgeProgram(signature: string): AxGen<JudgeInput, JudgeOutput> {
  let program = judgePrograms.get(signature)
  if (!program) {
    program = ax(signature) as unknown as AxGen<JudgeInput, JudgeOutput>
    program.setInstruction(judgeInstruction)
    judgePrograms.set(signature, program)
  }
  return program
}

/** Identifies the judge: a change of its prompt, of the rubric or of what it sees changes the hash. */
export function judgeHash(rubric: string | undefined, trajectory = false): string {
  return hashOf({ judgeInstruction, judgeSignature: trajectory ? trajectorySignature : judgeSignature, rubric: rubric ?? null })
}

/** A judge answer that is not a usable score; the call is retried, and never recorded. */
export class JudgeAnswerError extends LearnError {}

export interface ScoreScale {
  min: number
  max: number
}

/** A scale the rubric declares ("score from 0 to 10", "1-5", "out of 10"), when it declares one. */
export function declaredScale(rubric: string): ScoreScale | undefined {
  const range = /\b(\d+)\s*(?:-|–|to)\s*(\d+)\b/.exec(rubric)
  if (range && /scor|scale|rate|grade|point/i.test(rubric)) {
    const [min, max] = [Number(range[1]), Number(range[2])]
    if (max > min && max > 1) return { min, max }
  }
  const outOf = /\bout of (\d+)\b|\/\s*(\d+)\b/.exec(rubric)
  const max = Number(outOf?.[1] ?? outOf?.[2])
  return max > 1 ? { min: 0, max } : undefined
}

/**
 * The judge's score in [0, 1]: as answered when it is in range, rescaled when the rubric declares
 * a scale it fits, otherwise an error naming the answer (never clamped silently).
 */
export function normalizeScore(answer: unknown, rubric: string): number {
  const score = typeof answer === 'number' ? answer : Number(answer)
  if (typeof answer === 'boolean' || answer === '' || !Number.isFinite(score))
    throw new JudgeAnswerError(`the judge answered a score that is not a number: ${JSON.stringify(answer)}`, {
      field: 'judge',
      fix: 'use a judge model that follows the output format, or state in the rubric that the score is a number from 0 to 1',
    })
  if (score >= 0 && score <= 1) return score
  const scale = declaredScale(rubric)
  if (scale && score >= scale.min && score <= scale.max) return (score - scale.min) / (scale.max - scale.min)
  throw new JudgeAnswerError(
    `the judge answered score ${score}, outside 0..1${scale ? ` and outside the rubric's ${scale.min}..${scale.max} scale` : ', and the rubric declares no other scale'}`,
    { field: 'judge', fix: 'declare the scale in the judge rubric (e.g. "score from 0 to 10"), or use a judge model that follows the 0 to 1 format' },
  )
}

/** Judge answers that are not a usable score are asked again this many times in all. */
export const judgeAttempts = 3

/**
 * Scores one prediction in [0, 1] with the judge model and returns its reasons. Each attempt is a
 * tape step: an answer that is not a usable score is asked again and never recorded.
 */
export async function runJudge(service: AxAIService, request: JudgeRequest): Promise<JudgeVerdict> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await inStep(async () => {
        const output = await theJudgeProgram(request.trajectory ? trajectorySignature : judgeSignature).forward(service, {
          task_input: request.input,
          prediction: request.prediction,
          rubric: request.rubric,
          ...(request.criteria ? { criteria: request.criteria } : {}),
          ...(request.expected !== undefined ? { reference: request.expected } : {}),
          ...(request.trajectory ? { trajectory: request.trajectory } : {}),
        }, recordedCallOptions)
        return { score: normalizeScore(output.score, request.rubric), reasons: String(output.reasons ?? '').trim() }
      })
    } catch (error) {
      if (!(error instanceof JudgeAnswerError) || attempt >= judgeAttempts) throw error
    }
  }
}
