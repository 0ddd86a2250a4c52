import type { AxCheckpoint } from '../storage/types.js'
import type { LearnCheckpoint, LearnProgramState } from './types.generated.js'
import { assertFormat } from './validate.js'

// AxCheckpoint (the seed's runtime type) <-> LearnCheckpoint (checkpoint.json), an exact round trip:
// fromLearnCheckpoint(toLearnCheckpoint(c)) deep-equals c, with one exception: an instruction of ''
// comes back absent (checkpoint.json always has an instruction, and '' means none).
//
// checkpoint.json has first-class fields for what AxCheckpoint keeps in metadata; these metadata
// keys move to them when their value fits the schema, and otherwise stay in `metadata`:
//   parent → parent (absent: version - 1, or null for version 1)
//   baseline, hashes, cost → the same top-level fields
//   optimizerStats → optimizer.stats (only with an optimizerType, as optimizer.type is required)
//   componentMap, modelConfig → program.componentMap, program.modelConfig
//   demos → program.demos of programs other than 'root' (the root program's demos are `examples`)

const ROOT = 'root'

function defaultParent(version: number): number | null {
  return version > 1 ? version - 1 : null
}

/** JSON-normalized, so a value that only looks right (a Date where an object is due) does not pass. */
function fits(build: (value: unknown) => Record<string, unknown>, value: unknown): unknown {
  const normalized: unknown = JSON.parse(JSON.stringify(value) ?? 'null')
  const candidate = {
    format: 1,
    name: 'x',
    version: 2,
    parent: null,
    created: '2000-01-01T00:00:00.000Z',
    program: { instruction: '' },
    ...build(normalized),
  }
  try {
    assertFormat('checkpoint', candidate, 'checkpoint metadata', '')
    return normalized
  } catch {
    return undefined
  }
}

const WELL_KNOWN = {
  parent: (value: unknown) => ({ parent: value }),
  baseline: (value: unknown) => ({ baseline: value }),
  hashes: (value: unknown) => ({ hashes: value }),
  cost: (value: unknown) => ({ cost: value }),
  optimizerStats: (value: unknown) => ({ optimizer: { type: 'x', stats: value } }),
  componentMap: (value: unknown) => ({ program: { instruction: '', componentMap: value } }),
  modelConfig: (value: unknown) => ({ program: { instruction: '', modelConfig: value } }),
  demos: (value: unknown) => ({ program: { instruction: '', demos: value } }),
} as const
type WellKnown = keyof typeof WELL_KNOWN

function hasRootDemo(demos: unknown): boolean {
  return Array.isArray(demos) && demos.some((demo: unknown) => (demo as { programId?: unknown } | null)?.programId === ROOT)
}

export function toLearnCheckpoint(checkpoint: AxCheckpoint): LearnCheckpoint {
  const rest: Record<string, unknown> = { ...checkpoint.metadata }
  const lifted: { [K in WellKnown]?: unknown } = {}
  for (const key of Object.keys(WELL_KNOWN) as WellKnown[]) {
    if (rest[key] === undefined) continue
    if (key === 'optimizerStats' && checkpoint.optimizerType === undefined) continue
    if (key === 'demos' && hasRootDemo(rest.demos)) continue
    const value = fits(WELL_KNOWN[key], rest[key])
    // A parent equal to the default stays in metadata too, or reading it back could not tell it was given.
    if (value === undefined || (key === 'parent' && value === defaultParent(checkpoint.version))) continue
    lifted[key] = value
    delete rest[key]
  }

  const program: LearnProgramState = { instruction: checkpoint.instruction ?? '' }
  const demos = [
    ...(checkpoint.examples ? [{ programId: ROOT, traces: checkpoint.examples }] : []),
    ...((lifted.demos as LearnProgramState['demos']) ?? []),
  ]
  if (demos.length > 0) program.demos = demos
  if (lifted.componentMap !== undefined) program.componentMap = lifted.componentMap as LearnProgramState['componentMap']
  if (lifted.modelConfig !== undefined) program.modelConfig = lifted.modelConfig as LearnProgramState['modelConfig']

  const learn: LearnCheckpoint = {
    format: 1,
    name: checkpoint.name,
    version: checkpoint.version,
    parent: lifted.parent === undefined ? defaultParent(checkpoint.version) : (lifted.parent as number | null),
    created: checkpoint.createdAt.toISOString(),
    program,
  }
  if (checkpoint.score !== undefined) learn.score = checkpoint.score
  if (lifted.baseline !== undefined) learn.baseline = lifted.baseline as LearnCheckpoint['baseline']
  if (lifted.hashes !== undefined) learn.hashes = lifted.hashes as LearnCheckpoint['hashes']
  if (checkpoint.optimizerType !== undefined) {
    learn.optimizer = { type: checkpoint.optimizerType }
    if (lifted.optimizerStats !== undefined) learn.optimizer.stats = lifted.optimizerStats as Record<string, unknown>
  }
  if (lifted.cost !== undefined) learn.cost = lifted.cost as LearnCheckpoint['cost']
  const liftedAny = Object.keys(lifted).length > 0
  if (checkpoint.metadata !== undefined && (!liftedAny || Object.keys(rest).length > 0)) learn.metadata = rest
  return learn
}

export function fromLearnCheckpoint(learn: LearnCheckpoint): AxCheckpoint {
  const checkpoint: AxCheckpoint = {
    type: 'checkpoint',
    name: learn.name,
    version: learn.version,
    createdAt: new Date(learn.created),
  }
  if (learn.program.instruction !== '') checkpoint.instruction = learn.program.instruction
  const demos = learn.program.demos ?? []
  const root = demos.findIndex((demo) => demo.programId === ROOT)
  if (root >= 0) checkpoint.examples = demos[root]?.traces
  if (learn.score !== undefined) checkpoint.score = learn.score
  if (learn.optimizer !== undefined) checkpoint.optimizerType = learn.optimizer.type

  const lifted: { [K in WellKnown]?: unknown } = {}
  if (learn.parent !== defaultParent(learn.version)) lifted.parent = learn.parent
  if (learn.baseline !== undefined) lifted.baseline = learn.baseline
  if (learn.hashes !== undefined) lifted.hashes = learn.hashes
  if (learn.cost !== undefined) lifted.cost = learn.cost
  if (learn.optimizer?.stats !== undefined) lifted.optimizerStats = learn.optimizer.stats
  if (learn.program.componentMap !== undefined) lifted.componentMap = learn.program.componentMap
  if (learn.program.modelConfig !== undefined) lifted.modelConfig = learn.program.modelConfig
  const others = demos.filter((_, index) => index !== root)
  if (others.length > 0) lifted.demos = others
  if (learn.metadata !== undefined || Object.keys(lifted).length > 0) checkpoint.metadata = { ...learn.metadata, ...lifted }
  return checkpoint
}
