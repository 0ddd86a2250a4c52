import { ax, type AxAIService, type AxGen, type AxGenOut } from '@ax-llm/ax'
import type { LearnToolCall } from '../formats/types.generated.js'
import { recordedCallOptions } from '../tape/request.js'
import { inStep } from '../tape/step.js'
import type { Theme } from './feedback.js'
import type { ProgramComponent } from './program.js'

/** A case that shows the problem a proposal targets, as the teacher sees it. */
export interface ProblemExample {
  input: Record<string, unknown>
  output: Record<string, unknown>
  /** The tools the program called on it, when it called any. */
  tool_calls?: LearnToolCall[]
  /** What the judge or metric said about this output, about this problem. */
  feedback: string
}

export interface ProposalRequest {
  /** The text to rewrite: an instruction, or a tool's description, as it is now (the parent's). */
  component: ProgramComponent
  /** What the program does: its signature, for context. */
  task: string
  theme: Theme
  examples: readonly ProblemExample[]
  /** Texts tried earlier for this problem in this component that did not help. */
  triedBefore: readonly string[]
}

const instructionProposer =
  'You improve the instruction of an AI program. Read the problem and the cases that show it, then rewrite the ' +
  'instruction so the program avoids this problem on inputs like these, stated as a general rule, not about one case. ' +
  'Keep every part of the current instruction that is not about this problem. Return the complete new instruction.'

const toolProposer =
  'You improve the description of a tool an AI program can call. The program reads it to decide when to call the tool ' +
  'and which arguments to pass. Read the problem and the cases that show it, with the tool calls the program made, then ' +
  'rewrite the description so the program uses the tool right on inputs like these, stated as a general rule, not about ' +
  'one case. Keep what the current description says that is right; stay short (one to three sentences). Return the ' +
  'complete new description.'

const instructionSignature =
  'current_instruction:string "The instruction the program runs with now", task:string "The program\'s inputs and outputs", ' +
  'problem:string "What goes wrong", cases:json "Cases that show the problem: input, output and the feedback on it", ' +
  'tried_before?:string "Instructions already tried for this problem that did not help" -> ' +
  'new_instruction:string "The complete improved instruction"'

const toolSignature =
  'tool_name:string "The tool the description is of", current_description:string "The tool\'s description now", ' +
  'task:string "The program\'s inputs and outputs", problem:string "What goes wrong", ' +
  'cases:json "Cases that show the problem: input, output, the tool calls the program made, and the feedback on it", ' +
  'tried_before?:string "Descriptions already tried for this problem that did not help" -> ' +
  'new_description:string "The complete improved description"'

type ProposerInput = { task: string; problem: string; cases: unknown; tried_before?: string } & Record<string, unknown>

interface Proposer {
  program: AxGen<ProposerInput, AxGenOut>
  /** Its input holding the current text, and its output holding the new one. */
  current: string
  proposed: string
}

const proposers = new Map<ProgramComponent['kind'], Proposer>()

/** The teacher's program that rewrites one kind of component; built once per worker. */
function proposerFor(kind: ProgramComponent['kind']): Proposer {
  let proposer = proposers.get(kind)
  if (proposer) return proposer
  const [signature, instruction, current, proposed] =
    kind === 'instruction'
      ? [instructionSignature, instructionProposer, 'current_instruction', 'new_instruction']
      : [toolSignature, toolProposer, 'current_description', 'new_description']
  const program = ax(signature) as unknown as AxGen<ProposerInput, AxGenOut>
  program.setInstruction(instruction)
  proposers.set(kind, (proposer = { program, current, proposed }))
  return proposer
}

/**
 * One reflective mutation: the teacher rewrites one component (the instruction, or a tool's
 * description) to fix one problem, seeing only the cases that show it (a proposal about everything
 * tends to fix the loudest problem again). Undefined when the teacher returns nothing new.
 */
export async function proposeText(teacher: AxAIService, request: ProposalRequest): Promise<string | undefined> {
  const { component } = request
  const proposer = proposerFor(component.kind)
  const output = await inStep(() =>
    proposer.program.forward(
      teacher,
      {
        ...(component.tool ? { tool_name: component.tool } : {}),
        [proposer.current]: component.current,
        task: request.task,
        problem: request.theme.text,
        cases: request.examples,
        ...(request.triedBefore.length > 0 ? { tried_before: request.triedBefore.map((text) => `- ${text}`).join('\n') } : {}),
      },
      recordedCallOptions,
    ),
  )
  const proposed = String(output[proposer.proposed] ?? '').trim()
  return proposed === '' || proposed === component.current.trim() ? undefined : proposed
}
