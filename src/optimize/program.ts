import type { AxGen, AxGenOut, AxProgramDemos } from '@ax-llm/ax'
import type { LearnProgramState } from '../formats/types.generated.js'
import { hashOf } from '../hash.js'
import type { SomeLearnSpec } from '../spec.js'

export type SomeProgram = AxGen<Record<string, unknown>, AxGenOut>
type Demos = AxProgramDemos<Record<string, unknown>, AxGenOut>[]

/** The spec's program with a state applied: instruction, then demos, then GEPA's component map. */
export function buildProgram(spec: SomeLearnSpec, state: LearnProgramState): SomeProgram {
  const program = spec.program.clone() as SomeProgram
  program.setInstruction(state.instruction)
  if (state.demos?.length) program.setDemos(state.demos as unknown as Demos)
  if (state.componentMap) program.applyOptimizedComponents(state.componentMap)
  return program
}

/** Every optimizable text of a program (e.g. `root::instruction`), as GEPA sees them. */
export function componentsOf(program: SomeProgram): Record<string, string> {
  return Object.fromEntries(program.getOptimizableComponents().map((component) => [component.key, component.current]))
}

/**
 * A state as it behaves: the texts the program ends up with, its demos and its model settings. Two
 * states that render the same prompt (an instruction given directly or through the component map)
 * are equal.
 */
export function effectiveState(spec: SomeLearnSpec, state: LearnProgramState): LearnProgramState {
  const program = buildProgram(spec, state)
  const componentMap = componentsOf(program)
  return {
    instruction: program.getInstruction() ?? state.instruction,
    ...(state.demos?.length ? { demos: state.demos } : {}),
    ...(Object.keys(componentMap).length > 0 ? { componentMap } : {}),
    ...(state.modelConfig ? { modelConfig: state.modelConfig } : {}),
  }
}

/** Key of what a state renders, for memoizing evaluations. */
export const stateKey = (state: LearnProgramState): string => hashOf(state)

/** The same program state with another instruction (also in its component map, which would otherwise win). */
export function withInstruction(spec: SomeLearnSpec, state: LearnProgramState, instruction: string): LearnProgramState {
  const key = buildProgram(spec, state)
    .getOptimizableComponents()
    .find((component) => component.kind === 'instruction')?.key
  const componentMap = state.componentMap && key ? { ...state.componentMap, [key]: instruction } : state.componentMap
  return effectiveState(spec, { ...state, instruction, ...(componentMap ? { componentMap } : {}) })
}
