import type { AxAIService, AxGenIn, AxGenOut } from '@ax-llm/ax'
import { conversationMemory } from './conversation.js'
import { LearnError } from './errors.js'
import { isAgent, type SomeProgram } from './program/tools.js'
import type { LearnTurn } from './spec.js'
import { recordedCallOptions } from './tape/request.js'
import { inStep } from './tape/step.js'

export interface ForwardOptions {
  modelConfig?: Record<string, unknown>
  /** The conversation before the input (ax() programs only). */
  history?: readonly LearnTurn<Record<string, unknown>, AxGenOut>[]
}

/** Runs a program on one input, either kind, with the case's conversation before it. */
export async function runProgram(program: SomeProgram, service: AxAIService, input: Record<string, unknown>, options: ForwardOptions = {}): Promise<AxGenOut> {
  const settings = { ...recordedCallOptions, ...(options.modelConfig ? { modelConfig: options.modelConfig } : {}) }
  if (isAgent(program)) return program.forward(service, input as AxGenIn, settings)
  const mem = options.history?.length ? await conversationMemory(program, service, options.history) : undefined
  return program.forward(service, input, { ...settings, ...(mem ? { mem } : {}) })
}

/**
 * Runs a program on one input as one tape step: its answers are recorded only when ax parsed them
 * and every required output is there (ax returns `{}` for an empty answer, without an error).
 */
export function forwardStep(program: SomeProgram, service: AxAIService, input: Record<string, unknown>, options: ForwardOptions = {}): Promise<AxGenOut> {
  return inStep(async () => {
    const prediction = await runProgram(program, service, input, options)
    const missing = program
      .getSignature()
      .getOutputFields()
      .filter((field) => !field.isOptional && (prediction[field.name] === undefined || prediction[field.name] === null))
      .map((field) => field.name)
    if (missing.length > 0)
      throw new LearnError(`the model's answer lacks the output field(s) ${missing.join(', ')}, so it was not recorded`, {
        fix: 'run again; if the model keeps answering without them, make the instruction ask for them or use a stronger model',
      })
    return prediction
  })
}
