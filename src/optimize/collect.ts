import type { AxAIService } from '@ax-llm/ax'
import { LearnError } from '../errors.js'
import type { SomeLearnSpec } from '../spec.js'
import type { AxStorage } from '../storage/types.js'
import type { OptimizeCase } from './data.js'
import type { Limiter } from './limit.js'
import { readSynthetic, synthesize, syntheticCases, syntheticFile, syntheticPath, writeSynthetic, type SyntheticFile } from './synthetic.js'
import { loadTraces, traceCases } from './traces.js'

export interface CollectOptions {
  spec: SomeLearnSpec
  snapshotDir: string
  storage: AxStorage | undefined
  traceName: string
  traceLimit: number
  useTraces: boolean
  generateExamples: boolean
  synthCount: number
  teacher: AxAIService
  /** The models' keys, redacted from synthetic.json. */
  secrets: readonly string[]
  limit: Limiter
  warn: (message: string) => void
}

export interface Collected {
  /** Failures to fix, good answers, then recent traces. */
  traces: OptimizeCase[]
  synthetic: OptimizeCase[]
  /** synthetic.json as read or made (undefined when there are no synthetic cases), and its path. */
  syntheticFile?: SyntheticFile
  syntheticPath: string
  /** synthetic.json, when this run wrote it. */
  written?: string
}

/** The cases besides the spec's own: traces from the store, and synthetic cases (made once, then reused). */
export async function collectCases(options: CollectOptions): Promise<Collected> {
  const { spec, warn } = options
  let traces: OptimizeCase[] = []
  if (options.useTraces && options.storage && options.traceLimit > 0) {
    const found = traceCases(spec, await loadTraces(options.storage, options.traceName, options.traceLimit))
    if (found.unusable > 0) warn(`${found.unusable} trace(s) were skipped: their input lacks the program's input fields`)
    traces = found.cases
  }
  const path = syntheticPath(options.snapshotDir)
  if (!options.generateExamples || options.synthCount === 0) return { traces, synthetic: [], syntheticPath: path }

  const stored = await readSynthetic(path)
  if (stored && stored.spec !== spec.name)
    throw new LearnError(`holds the synthetic cases of spec "${stored.spec}", not of "${spec.name}"`, {
      file: path,
      field: 'spec',
      fix: `if this folder was renamed along with the spec, set "spec" to "${spec.name}" in the file; otherwise move it back to snapshots/${stored.spec}/, or delete it to make new cases`,
    })
  const signature = spec.program.getSignature().toString()
  if (stored?.signature === signature && stored.examples.length >= options.synthCount)
    return { traces, synthetic: syntheticCases(stored, options.synthCount), syntheticFile: stored, syntheticPath: path }
  if (stored && stored.signature !== signature) warn(`${path} was made for the signature "${stored.signature}"; making new synthetic cases for "${signature}"`)

  const kept = stored?.signature === signature ? stored.examples : []
  const made = await synthesize({ spec, teacher: options.teacher, count: options.synthCount - kept.length, limit: options.limit })
  if (made.dropped > 0) warn(`${made.dropped} of ${options.synthCount - kept.length} synthetic inputs could not be made (not generated, or not fitting the signature)`)
  const file = syntheticFile(spec, [...new Map([...kept, ...made.examples].map((example) => [example.id, example])).values()])
  if (file.examples.length === 0) return { traces, synthetic: [], syntheticPath: path }
  await writeSynthetic(path, file, options.secrets)
  return { traces, synthetic: syntheticCases(file, options.synthCount), syntheticFile: file, syntheticPath: path, written: path }
}
