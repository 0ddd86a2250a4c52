import { join } from 'node:path'
import { ax, type AxAIService, type AxFieldValue, type AxGen, type AxGenOut } from '@ax-llm/ax'
import { causeOfType } from '../errors.js'
import { readJsonFile, toPrettyJson, writeFileAtomic } from '../formats/files.js'
import type { LearnSynthetic, LearnSyntheticExample } from '../formats/types.generated.js'
import { hashOf } from '../hash.js'
import { redact } from '../redact.js'
import type { SomeLearnCase, SomeLearnSpec } from '../spec.js'
import { recordedCallOptions } from '../tape/request.js'
import { inStep } from '../tape/step.js'
import { pickFields, programFields, type OptimizeCase } from './data.js'
import type { Limiter } from './limit.js'
import { CostCapError } from './calls.js'
import { buildProgram } from './program.js'
import { runProgram } from '../forward.js'
import { ToolRecorder } from '../tool-recorder.js'

/** snapshots/<spec>/synthetic.json: teacher-made cases, committed for review and reused by later runs. */
export type SyntheticFile = LearnSynthetic
export type SyntheticExample = LearnSyntheticExample

export const syntheticPath = (snapshotDir: string): string => join(snapshotDir, 'synthetic.json')

/** Reads synthetic.json, validated; undefined when there is none. */
export function readSynthetic(path: string): Promise<SyntheticFile | undefined> {
  return readJsonFile(path, 'synthetic', 'fix the file, or delete it and run vitest-learn --optimize to generate new synthetic cases')
}

/** Writes synthetic.json with `secrets` (the models' keys) redacted: the teacher may repeat one in a case. */
export async function writeSynthetic(path: string, file: SyntheticFile, secrets: readonly string[]): Promise<void> {
  await writeFileAtomic(path, redact(toPrettyJson(file), secrets))
}

export function syntheticCases(file: SyntheticFile, limit: number): OptimizeCase[] {
  return file.examples.slice(0, limit).map((example) => ({
    id: example.id,
    name: `synthetic ${example.id}`,
    index: -1,
    input: example.input,
    // Schema-validated JSON: field values as the teacher answered them.
    ...(example.expected ? { expected: example.expected as AxGenOut } : {}),
    source: 'synthetic',
  }))
}

/** Inputs a generation call asks for at most: larger batches repeat themselves. */
const batchSize = 10

type GeneratorInput = { task: string; input_fields: string; output_fields?: string; count: number; batch: string }
type GeneratorOutput = { examples: AxFieldValue }

function generatorProgram(): AxGen<GeneratorInput, GeneratorOutput> {
  const program = ax(
    'task:string "What the program does and what a good answer is", input_fields:string "The program\'s input fields", ' +
      'output_fields?:string "The program\'s output fields, when each example must also hold the right output", ' +
      'count:number "How many examples to write", batch:string "Which batch this is; batches should cover different situations" -> ' +
      'examples:json "A JSON array of `count` objects with the input fields (and the output fields, when given): realistic, varied inputs, including hard ones"',
  ) as unknown as AxGen<GeneratorInput, GeneratorOutput>
  program.setInstruction('You write realistic test inputs for an AI program, as its users would send them, and the right output when asked for it.')
  return program
}

const describeFields = (fields: readonly { name: string; type?: { name?: string }; isOptional?: boolean; description?: string }[]): string =>
  fields.map((field) => `${field.name} (${field.type?.name ?? 'string'}${field.isOptional ? ', optional' : ''})${field.description ? `: ${field.description}` : ''}`).join('\n')

export interface SynthesizeOptions {
  spec: SomeLearnSpec
  teacher: AxAIService
  count: number
  /** Each generation call holds one slot of this limiter (shared with case evaluations). */
  limit: Limiter
}

export interface Synthesized {
  examples: SyntheticExample[]
  /** Requested inputs that were not generated or did not fit the signature. */
  dropped: number
}

/** Synthetic cases need reference outputs when the spec's own cases carry them: they are to be scored alike. */
const needsReferences = (spec: SomeLearnSpec): boolean => spec.cases.some((item) => item.expected !== undefined)

/** What the program does, for the teacher: the seed instruction, and the judge's rubric when there is one. */
const taskOf = (spec: SomeLearnSpec): string => (spec.judge ? `${spec.instruction}\nA good answer: ${spec.judge}` : spec.instruction)

/**
 * Asks the teacher for `count` inputs, in batches of up to 10 generated in parallel, with their
 * right outputs when the spec's own cases carry `expected` (a spec judged on the rubric alone needs
 * none). An example that comes without its output gets one when it is first scored (see
 * SyntheticReferences).
 */
export async function synthesize(options: SynthesizeOptions): Promise<Synthesized> {
  const { spec, count } = options
  if (count <= 0) return { examples: [], dropped: 0 }
  const fields = programFields(spec)
  const signature = spec.program.getSignature()
  const withOutputs = needsReferences(spec)
  const request = {
    task: taskOf(spec),
    input_fields: describeFields(signature.getInputFields()),
    ...(withOutputs ? { output_fields: describeFields(signature.getOutputFields()) } : {}),
  }
  const sizes = Array.from({ length: Math.ceil(count / batchSize) }, (_, index) => Math.min(batchSize, count - index * batchSize))
  const failures: unknown[] = []
  const batches = await Promise.all(
    sizes.map((size, index) =>
      options.limit(() =>
        inStep(() =>
          generatorProgram().forward(
            options.teacher,
            { ...request, count: size, batch: `${index + 1} of ${sizes.length}` },
            recordedCallOptions,
          ),
        ).catch((error: unknown) => {
          failures.push(error)
          return { examples: [] }
        }),
      ),
    ),
  )
  // Every batch failed (a refused key, an unreachable server): that, not "no data", is what to report.
  if (failures.length === sizes.length && !causeOfType(failures[0], CostCapError)) throw failures[0]
  const examples = new Map<string, SyntheticExample>()
  for (const value of batches.flatMap((batch) => (Array.isArray(batch.examples) ? batch.examples : []))) {
    const input = pickFields(value, fields.inputs, fields.requiredInputs)
    if (!input) continue
    const id = `synth-${hashOf(input, 12)}`
    const expected = withOutputs ? pickFields(value, fields.outputs) : undefined
    examples.set(id, { id, input, ...(expected && Object.keys(expected).length > 0 ? { expected } : {}), category: 'normal' })
  }
  const made = [...examples.values()].slice(0, count)
  return { examples: made, dropped: count - made.length }
}

export function syntheticFile(spec: SomeLearnSpec, examples: SyntheticExample[]): SyntheticFile {
  return {
    format: 1,
    spec: spec.name,
    signature: spec.program.getSignature().toString(),
    created: new Date().toISOString(),
    examples,
  }
}

/**
 * Reference answers for synthetic cases that came without one (the teacher left it out, or an older
 * synthetic.json), made by the teacher running the spec's program when the case is first scored,
 * and only for specs whose own cases carry `expected`: a spec judged on the rubric alone is judged
 * so on synthetic cases too. References made are written back to synthetic.json for the next run.
 */
export class SyntheticReferences {
  private readonly made = new Map<string, Promise<AxGenOut | undefined>>()
  private added = 0

  constructor(
    private readonly spec: SomeLearnSpec,
    private readonly teacher: AxAIService,
    private readonly file: SyntheticFile | undefined,
    private readonly path: string,
    private readonly secrets: readonly string[],
  ) {}


  /** The case's reference: its own, else the teacher's (made once), else none. */
  expectedOf(item: SomeLearnCase & { source?: OptimizeCase['source'] }): Promise<AxGenOut | undefined> {
    if (item.expected !== undefined || item.source !== 'synthetic' || !needsReferences(this.spec)) return Promise.resolve(item.expected as AxGenOut | undefined)
    let pending = this.made.get(item.id)
    if (!pending) {
      const fields = programFields(this.spec)
      const tools = ToolRecorder.forRun(this.teacher, this.spec.liveTools)
      pending = inStep(() => runProgram(buildProgram(this.spec, { instruction: taskOf(this.spec) }, { wrapTool: tools.wrap }), tools.service, item.input))
        .then((answer) => pickFields(answer, fields.outputs))
        .then((expected) => {
          const example = this.file?.examples.find((candidate) => candidate.id === item.id)
          if (example && expected) {
            example.expected = expected
            this.added++
          }
          return expected
        })
        .catch(() => undefined)
      this.made.set(item.id, pending)
    }
    return pending
  }

  /** Writes the references made this run into synthetic.json; the path when it did. */
  async save(): Promise<string | undefined> {
    await Promise.all(this.made.values())
    if (!this.file || this.added === 0) return undefined
    await writeSynthetic(this.path, this.file, this.secrets)
    return this.path
  }
}
