import type { AxAIService } from '@ax-llm/ax'
import type { SomeLearnSpec } from '../spec.js'
import type { AxStorage } from '../storage/types.js'
import type { OptimizeCase } from './data.js'
import type { Limiter } from './limit.js'
import { readSynthetic, synthesize, syntheticCases, syntheticFile, syntheticPath, writeSynthetic } from './synthetic.js'
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
  limit: Limiter
  concurrency: number
  warn: (message: string) => void
}

export interface Collected {
  /** Failures to fix, good answers, then recent traces. */
  traces: OptimizeCase[]
  synthetic: OptimizeCase[]
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
  if (!options.generateExamples || options.synthCount === 0) return { traces, synthetic: [] }

  const path = syntheticPath(options.snapshotDir)
  const stored = await readSynthetic(path)
  const signature = spec.program.getSignature().toString()
  if (stored?.signature === signature) return { traces, synthetic: syntheticCases(stored, options.synthCount) }
  if (stored) warn(`${path} was made for the signature "${stored.signature}"; making new synthetic cases for "${signature}"`)

  const made = await synthesize({ spec, teacher: options.teacher, count: options.synthCount, concurrency: options.concurrency, limit: options.limit })
  if (made.dropped > 0) warn(`${made.dropped} of ${options.synthCount} synthetic cases could not be made (not generated, unfit, or not labelled)`)
  const file = syntheticFile(spec, [...new Map(made.examples.map((example) => [example.id, example])).values()])
  if (file.examples.length === 0) return { traces, synthetic: [] }
  await writeSynthetic(path, file)
  return { traces, synthetic: syntheticCases(file, options.synthCount), written: path }
}
