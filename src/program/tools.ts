import type { AxAgent, AxAgentOptions, AxFunction, AxGen, AxGenIn, AxGenOut, AxProgramForwardOptions } from '@ax-llm/ax'

// Type-only imports of ax: src/spec.ts uses this module, and the plugin's main process, which
// loads src/spec.ts, does not load ax.

/** A program a spec may hold: an ax() generator (with or without functions), or an agent(). */
export type SomeProgram = AxGen<Record<string, unknown>, AxGenOut> | AxAgent<AxGenIn, AxGenOut>

/** An agent() program: a pipeline of stages (distiller, executor, responder) rather than one generator. */
export const isAgent = (program: unknown): program is AxAgent<AxGenIn, AxGenOut> =>
  typeof program === 'object' && program !== null && 'executor' in program && 'responder' in program && typeof (program as { forward?: unknown }).forward === 'function'

// ax keeps what a program was built with in private fields and offers no way to build a program
// like another with other functions: `clone()` shares the function objects, and ax's optimized
// components (a tool's description) are applied by mutating them. A program with tools is therefore
// rebuilt here from what it was built with, with functions of our own (wrapped handlers, their own
// descriptions), so concurrent cases and candidates never share one. test/program.test.ts checks
// these fields against the installed ax.
interface GenInternals {
  options?: AxProgramForwardOptions<string>
  asserts: unknown[]
  streamingAsserts: unknown[]
  fieldProcessors: unknown[]
  streamingFieldProcessors: unknown[]
}
interface AgentInternals {
  init: ConstructorParameters<typeof AxAgent>[0]
  options: AxAgentOptions<AxGenIn>
}
type FunctionEntry = Record<string, unknown>
interface FunctionGroup {
  functions: readonly FunctionEntry[]
}

const genInternals = (program: AxGen<Record<string, unknown>, AxGenOut>) => program as unknown as GenInternals
const agentInternals = (program: AxAgent<AxGenIn, AxGenOut>) => program as unknown as AgentInternals

/** A plain function entry (not a child agent or a provider of functions): one whose handler can be recorded. */
const isPlainFunction = (entry: unknown): entry is AxFunction =>
  typeof entry === 'object' && entry !== null && typeof (entry as { func?: unknown }).func === 'function' && typeof (entry as { name?: unknown }).name === 'string'

const isGroup = (entry: unknown): entry is FunctionGroup => typeof entry === 'object' && entry !== null && Array.isArray((entry as { functions?: unknown }).functions)

/** The functions an ax() program was given, as ax uses them (providers expanded with `toFunction()`). */
function genFunctions(program: AxGen<Record<string, unknown>, AxGenOut>): FunctionEntry[] {
  return (genInternals(program).options?.functions ?? []).flatMap((entry) => {
    const provided = 'toFunction' in entry ? entry.toFunction() : entry
    return (Array.isArray(provided) ? provided : [provided]) as FunctionEntry[]
  })
}

const agentEntries = (program: AxAgent<AxGenIn, AxGenOut>): readonly unknown[] => (agentInternals(program).options.functions ?? []) as readonly unknown[]

/** The entries of an agent's `functions`, flat or in groups, with each plain function mapped. */
function mapAgentFunctions(program: AxAgent<AxGenIn, AxGenOut>, map: (tool: AxFunction) => AxFunction): AxAgentOptions<AxGenIn>['functions'] {
  const mapEntry = (entry: unknown) => (isPlainFunction(entry) ? map(entry) : entry)
  return agentEntries(program).map((entry) => (isGroup(entry) ? { ...entry, functions: entry.functions.map(mapEntry) } : mapEntry(entry))) as AxAgentOptions<AxGenIn>['functions']
}

/**
 * The functions a program can call whose handlers run on this machine: those a spec records and
 * replays, and whose descriptions the optimizer may rewrite. A child agent given as a function is
 * not one: its model calls are recorded like any other.
 */
export function toolsOf(program: SomeProgram): AxFunction[] {
  const entries: readonly unknown[] = isAgent(program) ? agentEntries(program).flatMap((entry): readonly unknown[] => (isGroup(entry) ? entry.functions : [entry])) : genFunctions(program)
  return entries.filter(isPlainFunction)
}

/**
 * A new instance of the program, built as it was, whose tools are `map(tool)` (same order, same
 * names). Every call builds a fresh instance: an agent keeps per-run state, so runs never share one.
 */
export function rebuild(program: SomeProgram, map: (tool: AxFunction) => AxFunction): SomeProgram {
  if (isAgent(program)) {
    const { init, options } = agentInternals(program)
    const Agent = program.constructor as new (...args: ConstructorParameters<typeof AxAgent>) => AxAgent<AxGenIn, AxGenOut>
    return new Agent(init, { ...options, functions: mapAgentFunctions(program, map) })
  }
  const internals = genInternals(program)
  const functions = genFunctions(program).map((entry) => (isPlainFunction(entry) ? map(entry) : entry)) as AxFunction[]
  const Gen = program.constructor as new (...args: ConstructorParameters<typeof AxGen>) => AxGen<Record<string, unknown>, AxGenOut>
  const copy = new Gen(program.getSignature(), { ...internals.options, functions })
  const copied = genInternals(copy)
  copied.asserts = [...internals.asserts]
  copied.streamingAsserts = [...internals.streamingAsserts]
  copied.fieldProcessors = [...internals.fieldProcessors]
  copied.streamingFieldProcessors = [...internals.streamingFieldProcessors]
  copy.setId(program.getId())
  return copy
}

/** ax's rule for a function's component id (`AxGen.stableFunctionComponentBase`), suffixed as ax does when two collide. */
function componentIds(tools: readonly AxFunction[]): string[] {
  const used = new Set<string>()
  return tools.map((tool) => {
    const base = tool.name.trim().replace(/[^a-zA-Z0-9]+/g, '_').replace(/^_+|_+$/g, '').toLowerCase() || 'tool'
    let id = base
    for (let suffix = 2; used.has(id); suffix++) id = `${base}_${suffix}`
    used.add(id)
    return id
  })
}

/**
 * The component key of each tool's description, as ax names it for an ax() program
 * (`root::fn:lookup_order:desc`), so a checkpoint's component map applies through ax's own
 * `applyOptimizedComponents`; an agent's tools get keys of the same form.
 */
export function toolDescriptionKeys(program: SomeProgram): Map<string, string> {
  const tools = toolsOf(program)
  const ids = componentIds(tools)
  return new Map(tools.map((tool, index) => [tool.name, `${program.getId()}::fn:${ids[index]}:desc`]))
}
