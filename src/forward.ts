import type { AxAIService, AxGenOut } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import type { SomeProgram } from './optimize/program.js'
import { recordedCallOptions } from './tape/request.js'
import { inStep } from './tape/step.js'

/**
 * Runs a program on one input as one tape step: its answers are recorded only when ax parsed them
 * and every required output is there (ax returns `{}` for an empty answer, without an error).
 */
export function forwardStep(
  program: SomeProgram,
  service: AxAIService,
  input: Record<string, unknown>,
  modelConfig?: Record<string, unknown>,
): Promise<AxGenOut> {
  return inStep(async () => {
    const prediction = await program.forward(service, input, { ...recordedCallOptions, ...(modelConfig ? { modelConfig } : {}) })
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
