import { join } from 'node:path'
import { AxSignature, AxSynth, type AxAIService, type AxGenOut } from '@ax-llm/ax'
import { LearnError } from '../errors.js'
import { readJsonFile, toPrettyJson, writeFileAtomic } from '../formats/files.js'
import type { LearnSynthetic, LearnSyntheticExample } from '../formats/types.generated.js'
import { hashOf } from '../hash.js'
import type { SomeLearnSpec } from '../spec.js'
import { pickFields, programFields, type OptimizeCase } from './data.js'
import type { Limiter } from './limit.js'

/** snapshots/<spec>/synthetic.json: teacher-made cases, committed for review and reused by later runs. */
export type SyntheticFile = LearnSynthetic
export type SyntheticExample = LearnSyntheticExample

export const syntheticPath = (snapshotDir: string): string => join(snapshotDir, 'synthetic.json')

/** Reads synthetic.json, validated; undefined when there is none. */
export function readSynthetic(path: string): Promise<SyntheticFile | undefined> {
  return readJsonFile(path, 'synthetic', 'fix the file, or delete it and run vitest-learn --optimize to generate new synthetic cases')
}

export async function writeSynthetic(path: string, file: SyntheticFile): Promise<void> {
  await writeFileAtomic(path, toPrettyJson(file))
}

export function syntheticCases(file: SyntheticFile, limit: number): OptimizeCase[] {
  return file.examples.slice(0, limit).map((example) => ({
    id: example.id,
    name: `synthetic ${example.id}`,
    index: -1,
    input: example.input,
    // Schema-validated JSON: field values as the teacher answered them.
    expected: example.expected as AxGenOut,
    source: 'synthetic',
  }))
}

export interface SynthesizeOptions {
  spec: SomeLearnSpec
  teacher: AxAIService
  count: number
  /** Parallel AxSynth runs; each makes one input-generation call, then labels its inputs one by one. */
  concurrency: number
  /** Each AxSynth run holds one slot of this limiter (shared with case evaluations) while it works. */
  limit?: Limiter
}

export interface Synthesized {
  examples: SyntheticExample[]
  /** Requested inputs that were not generated, did not fit the signature or were not labelled. */
  dropped: number
}

/** The signature AxSynth works from, described by the seed instruction and the judge's rubric. */
function taskSignature(spec: SomeLearnSpec): AxSignature {
  const signature = AxSignature.from(spec.program.getSignature())
  signature.setDescription(spec.judge ? `${spec.instruction}\n\nA good answer: ${spec.judge}` : spec.instruction)
  return signature
}

/**
 * Asks the teacher for `count` inputs through ax's AxSynth and labels each with the teacher's own
 * answer. AxSynth works one call at a time, so the count is split over parallel AxSynth runs of at
 * least 5 inputs each (fewer, larger runs give more varied inputs per generation call).
 */
export async function synthesize(options: SynthesizeOptions): Promise<Synthesized> {
  const { spec, count } = options
  if (count <= 0) return { examples: [], dropped: 0 }
  const runs = Math.max(1, Math.min(Math.floor(options.concurrency), Math.floor(count / 5)))
  const sizes = Array.from({ length: runs }, (_, index) => Math.floor(count / runs) + (index < count % runs ? 1 : 0))
  const signature = taskSignature(spec)
  const results = await Promise.all(
    sizes.map((size) => {
      const generate = () => new AxSynth(signature, { teacher: options.teacher }).generate(size, { batchSize: size })
      return options.limit ? options.limit(generate) : generate()
    }),
  )
  const fields = programFields(spec)
  const examples: SyntheticExample[] = []
  for (const example of results.flatMap((result) => result.examples)) {
    const input = pickFields(example.input, fields.inputs, fields.requiredInputs)
    const expected = pickFields(example.expected, fields.outputs)
    if (input && expected && Object.keys(expected).length > 0)
      examples.push({ id: `synth-${hashOf(input, 12)}`, input, expected, category: example.category ?? 'normal' })
  }
  return { examples, dropped: count - examples.length }
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
