import { ax, type AxAIService, type AxGen } from '@ax-llm/ax'
import { recordedCallOptions } from '../tape/request.js'
import { inStep } from '../tape/step.js'
import type { Theme } from './feedback.js'

/** A case that shows the problem a proposal targets, as the teacher sees it. */
export interface ProblemExample {
  input: Record<string, unknown>
  output: Record<string, unknown>
  /** What the judge or metric said about this output, about this problem. */
  feedback: string
}

export interface ProposalRequest {
  /** The instruction as it is now (the parent's). */
  instruction: string
  /** What the program does: its signature, for context. */
  task: string
  theme: Theme
  examples: readonly ProblemExample[]
  /** Instructions tried earlier for this problem that did not help. */
  triedBefore: readonly string[]
}

const proposerInstruction =
  'You improve the instruction of an AI program. Read the problem and the cases that show it, then rewrite the ' +
  'instruction so the program avoids this problem on inputs like these, stated as a general rule, not about one case. ' +
  'Keep every part of the current instruction that is not about this problem. Return the complete new instruction.'

type ProposerInput = {
  current_instruction: string
  task: string
  problem: string
  cases: unknown
  tried_before?: string
}
type ProposerOutput = { new_instruction: string }

let proposer: AxGen<ProposerInput, ProposerOutput> | undefined

function proposerProgram(): AxGen<ProposerInput, ProposerOutput> {
  if (proposer) return proposer
  const program = ax(
    'current_instruction:string "The instruction the program runs with now", task:string "The program\'s inputs and outputs", ' +
      'problem:string "What goes wrong", cases:json "Cases that show the problem: input, output and the feedback on it", ' +
      'tried_before?:string "Instructions already tried for this problem that did not help" -> ' +
      'new_instruction:string "The complete improved instruction"',
  ) as unknown as AxGen<ProposerInput, ProposerOutput>
  program.setInstruction(proposerInstruction)
  return (proposer = program)
}

/**
 * One reflective mutation: the teacher rewrites the instruction to fix one problem, seeing only the
 * cases that show it (a proposal about everything tends to fix the loudest problem again).
 * Undefined when the teacher returns nothing new.
 */
export async function proposeInstruction(teacher: AxAIService, request: ProposalRequest): Promise<string | undefined> {
  const output = await inStep(() =>
    proposerProgram().forward(
      teacher,
      {
        current_instruction: request.instruction,
        task: request.task,
        problem: request.theme.text,
        cases: request.examples,
        ...(request.triedBefore.length > 0 ? { tried_before: request.triedBefore.map((text) => `- ${text}`).join('\n') } : {}),
      },
      recordedCallOptions,
    ),
  )
  const proposed = String(output.new_instruction ?? '').trim()
  return proposed === '' || proposed === request.instruction.trim() ? undefined : proposed
}
