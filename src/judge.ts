import { ax, type AxAIService, type AxGen } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import { hashOf } from './hash.js'
import { recordedCallOptions } from './tape/request.js'

export const judgeInstruction =
  'Grade the prediction strictly against the rubric, the case criteria and the reference output when given. ' +
  'Score 1 only when every requirement is met; take points off for each one missed. Give short, concrete reasons ' +
  'that say what to change.'

const judgeSignature =
  'task_input:json "The input the program received", prediction:json "The program output to grade", ' +
  'rubric:string "What a good output looks like", criteria?:string "Extra criteria for this case", ' +
  'reference?:json "A reference output" -> score:number "From 0 (fails the rubric) to 1 (meets it fully)", ' +
  'reasons:string "What is wrong or missing, briefly"'

interface JudgeInput {
  task_input: unknown
  prediction: unknown
  rubric: string
  criteria?: string
  reference?: unknown
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
}

function createJudgeProgram(): AxGen<JudgeInput, JudgeOutput> {
  const program = ax(judgeSignature) as unknown as AxGen<JudgeInput, JudgeOutput>
  program.setInstruction(judgeInstruction)
  return program
}

/** Identifies the judge: a change of its prompt or of the rubric changes the hash. */
export function judgeHash(rubric: string | undefined): string {
  return hashOf({ judgeInstruction, judgeSignature, rubric: rubric ?? null })
}

/** Scores one prediction in [0, 1] with the judge model and returns its reasons. */
export async function runJudge(service: AxAIService, request: JudgeRequest): Promise<JudgeVerdict> {
  const output = await createJudgeProgram().forward(service, {
    task_input: request.input,
    prediction: request.prediction,
    rubric: request.rubric,
    ...(request.criteria ? { criteria: request.criteria } : {}),
    ...(request.expected !== undefined ? { reference: request.expected } : {}),
  }, recordedCallOptions)
  const score = Number(output.score)
  if (!Number.isFinite(score))
    throw new LearnError(`the judge answered a score that is not a number: ${JSON.stringify(output.score)}`)
  return { score: Math.min(1, Math.max(0, score)), reasons: String(output.reasons ?? '').trim() }
}
