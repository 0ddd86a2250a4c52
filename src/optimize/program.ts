import type { AxFunction } from '@ax-llm/ax'
import type { LearnProgramState } from '../formats/types.generated.js'
import { hashOf } from '../hash.js'
import { isAgent, rebuild, toolDescriptionKeys, toolsOf, type SomeProgram } from '../program/tools.js'
import type { SomeLearnSpec } from '../spec.js'

export type { SomeProgram } from '../program/tools.js'

type Demos = Parameters<SomeProgram['setDemos']>[0]

/** A text of a program the search may rewrite: an instruction, or the description of a tool the model reads. */
export interface ProgramComponent {
  /** ax's component key (`root::instruction`, `root::fn:lookup_order:desc`), the key of the checkpoint's component map. */
  key: string
  kind: 'instruction' | 'tool'
  /** The tool it describes (kind `tool`). */
  tool?: string
  current: string
}

export interface BuildOptions {
  /** Gives each tool its handler for this run (recorded, replayed or live); the description is already the state's. */
  wrapTool?: (tool: AxFunction) => AxFunction
}

/** The keys of a program's instruction components: one for an ax() program; an agent's stages have their own. */
function instructionKeys(program: SomeProgram): string[] {
  return [...new Set(program.getOptimizableComponents().filter((component) => component.kind === 'instruction').map((component) => String(component.key)))]
}

/**
 * The spec's program with a state applied: instruction, then demos, then the component map (which
 * wins). A program with tools, and any agent, is a new instance with tools of its own, so runs never
 * share one; the tools' descriptions are the state's, and `wrapTool` gives them their handlers.
 */
export function buildProgram(spec: SomeLearnSpec, state: LearnProgramState, options: BuildOptions = {}): SomeProgram {
  const keys = toolDescriptionKeys(spec.program)
  const ownTool = (tool: AxFunction): AxFunction => {
    const described = { ...tool, description: state.componentMap?.[keys.get(tool.name)!] ?? tool.description ?? '' }
    return options.wrapTool ? options.wrapTool(described) : described
  }
  const program = keys.size > 0 || isAgent(spec.program) ? rebuild(spec.program, ownTool) : spec.program.clone()
  if (isAgent(program)) program.applyOptimizedComponents(Object.fromEntries(instructionKeys(program).map((key) => [key, state.instruction])))
  else program.setInstruction(state.instruction)
  if (state.demos?.length) program.setDemos(state.demos as unknown as Demos)
  if (state.componentMap) program.applyOptimizedComponents(state.componentMap)
  return program
}

/** The program each run of a case uses, its tools given their handlers for that run by `wrapTool`. */
export type ProgramForRun = (tools: Required<BuildOptions>) => SomeProgram

/**
 * Programs for runs of `state`: one instance shared by every run when the program has no tools (ax
 * takes about a millisecond to build one); otherwise one per run (an agent's runs cannot share one either).
 */
export function programsFor(spec: SomeLearnSpec, state: LearnProgramState): ProgramForRun {
  if (isAgent(spec.program) || toolsOf(spec.program).length > 0) return (tools) => buildProgram(spec, state, tools)
  const shared = buildProgram(spec, state)
  return () => shared
}

/** Every text of a program the search may rewrite: its instructions, then its tools' descriptions. */
export function componentsOf(program: SomeProgram): ProgramComponent[] {
  const components = program.getOptimizableComponents()
  const instructions = instructionKeys(program).map((key): ProgramComponent => ({
    key,
    kind: 'instruction',
    current: String(components.find((component) => component.key === key)?.current ?? ''),
  }))
  const keys = toolDescriptionKeys(program)
  const tools = toolsOf(program).map((tool): ProgramComponent => ({ key: keys.get(tool.name)!, kind: 'tool', tool: tool.name, current: tool.description ?? '' }))
  return [...instructions, ...tools]
}

/** The component the spec's `instruction` (and a checkpoint's `instruction`) is: the program's first instruction. */
export const primaryInstructionKey = (spec: SomeLearnSpec): string => instructionKeys(spec.program)[0] ?? `${spec.program.getId()}::instruction`

/**
 * A state as it behaves: the texts the program ends up with, its demos and its model settings. Two
 * states that render the same prompt (an instruction given directly or through the component map)
 * are equal.
 */
export function effectiveState(spec: SomeLearnSpec, state: LearnProgramState): LearnProgramState {
  const componentMap = Object.fromEntries(componentsOf(buildProgram(spec, state)).map((component) => [component.key, component.current]))
  return {
    instruction: componentMap[primaryInstructionKey(spec)] || state.instruction,
    ...(state.demos?.length ? { demos: state.demos } : {}),
    ...(Object.keys(componentMap).length > 0 ? { componentMap } : {}),
    ...(state.modelConfig ? { modelConfig: state.modelConfig } : {}),
  }
}

/** Key of what a state renders, for memoizing evaluations. */
export const stateKey = (state: LearnProgramState): string => hashOf(state)

/** The same program state with one component's text replaced (the primary instruction is also the state's `instruction`). */
export function withComponent(spec: SomeLearnSpec, state: LearnProgramState, key: string, text: string): LearnProgramState {
  const effective = effectiveState(spec, state)
  const componentMap = { ...effective.componentMap, [key]: text }
  return effectiveState(spec, { ...effective, ...(key === primaryInstructionKey(spec) ? { instruction: text } : {}), componentMap })
}
