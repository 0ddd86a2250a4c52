import type { LearnUsage } from '../formats/types.generated.js'
import type { LearnModels } from '../models/index.js'
import type { SomeLearnSpec } from '../spec.js'
import type { PairedComparison } from '../stats.js'
import type { AxStorage } from '../storage/types.js'
import type { ModelPrice } from './calls.js'
import type { CandidateRecord, SearchPlan } from './search.js'

export interface OptimizeOptions {
  spec: SomeLearnSpec
  /** The spec's file, as shown in errors. */
  specFile?: string
  /** snapshots/<spec name>/: checkpoint.json, checkpoints/vN.json and synthetic.json live here. */
  snapshotDir: string
  /** Folder of the call cache; the file is <cacheDir>/<spec name>.json (e.g. node_modules/.cache/vitest-learn). */
  cacheDir: string
  models: LearnModels
  /** Production traces (`useTraces`). */
  storage?: AxStorage
  /** Name the traces are stored under. Default: the spec's name. */
  traceName?: string

  /** Defaults come from the spec's `optimize`, then: budget 20 rounds, synthCount 50, useTraces and generateExamples true. */
  budget?: number
  synthCount?: number
  useTraces?: boolean
  generateExamples?: boolean

  /** Cases evaluated at once, and parallel synthesis runs. Default 8. */
  concurrency?: number
  /**
   * Cost cap of the whole run, in tokens of live calls (synthesis, search and decision): no live
   * call starts once it is reached. The search stops with the best candidate so far; a decision
   * that cannot finish keeps the current program.
   */
  maxTokens?: number
  /** Cost cap in estimated dollars of live calls, as maxTokens. A model with no known price needs `prices`. */
  maxUsd?: number
  /** Seeds the train/validation split, the search and the bootstrap interval. Default 1. */
  seed?: number
  /** Share of traces and synthetic cases held out with the spec's cases for the decision. Default 0.3. */
  holdoutShare?: number
  /** Most traces read from storage. Default 100. */
  traceLimit?: number
  /** Prices of models ax has none for (needed by maxUsd), by model name. */
  prices?: Readonly<Record<string, ModelPrice>>
  /** Call every model live instead of replaying optimize's call cache (`vitest-learn --optimize --no-cache`). */
  noCache?: boolean
  /** How each round is spent (proposals, focus and check cases); see SearchPlan. */
  plan?: Partial<Omit<SearchPlan, 'rounds'>>

  /**
   * Interrupts the run (e.g. on Ctrl-C): no new live call is made, the call cache is written, and
   * optimizeSpec rejects with a LearnError; running it again replays what was paid for.
   */
  signal?: AbortSignal
  onProgress?: (event: OptimizeProgress) => void
  /** Problems worth a line in the summary (failed cases, an adapter fallback, stale files). */
  onWarning?: (message: string) => void
}

export type OptimizePhase = 'data' | 'search' | 'decision' | 'done'

/** A snapshot of a running optimization, for a live progress line. */
export interface OptimizeProgress {
  spec: string
  phase: OptimizePhase
  /** Rounds done, of `rounds` (the budget). */
  round: number
  rounds: number
  /** Best estimated mean score on the training cases. */
  bestScore: number
  proposals: number
  accepted: number
  /** Live model calls made (cache misses). */
  calls: number
  cacheHits: number
  tokens: number
  usd: number
  elapsedMs: number
}

export interface ScoreSummary {
  mean: number
  /** Score per held-out case id (cases that failed are left out). */
  perCase: Record<string, number>
}

export interface OptimizeCost {
  /** Live calls (cache misses). */
  calls: number
  usage: LearnUsage
  usd: number
}

export interface OptimizeStats {
  /** Rounds allowed, and rounds run (fewer when the search converged or hit the cost cap). */
  budget: number
  rounds: number
  proposals: number
  accepted: number
  merges: number
  /** Cases whose program or judge failed (left out of every comparison). */
  errors: number
  cacheHits: number
  /** Synthetic cases used; traces used. */
  synthetic: number
  traces: number
  /** Training cases (search) and held-out cases compared (decision). */
  train: number
  validation: number
  /** Live calls spent measuring a written checkpoint's baseline afresh (0 when the current program was kept). */
  baselineCalls: number
}

/** One text of the program the search changed. */
export interface ComponentChange {
  /** Its key in the component map (`root::instruction`, `root::fn:lookup_order:desc`). */
  key: string
  /** What it is: `instruction`, or `tool lookup_order`. */
  label: string
  before: string
  after: string
  diff: string
}

export interface OptimizeResult {
  /** `written`: a new checkpoint won. `kept-previous`: nothing better was found, which is a normal outcome. */
  decision: 'written' | 'kept-previous'
  /** The version written. */
  version?: number
  /** The checkpoint compared against; absent when it was the seed. */
  previousVersion?: number
  /** Held-out scores, before = current checkpoint (or seed), after = candidate. */
  comparison: PairedComparison
  before: ScoreSummary
  after: ScoreSummary
  instruction: { before: string; after: string; diff: string }
  /** Every text the candidate changed (the instruction, a tool's description), with its diff; empty when it is the current program. */
  components: ComponentChange[]
  cost: OptimizeCost
  stats: OptimizeStats
  stoppedBy: 'budget' | 'cost-cap' | 'converged'
  /** Every candidate the search made, kept or not: the optimize report's curve. */
  candidates: CandidateRecord[]
  /** Files written: synthetic.json, checkpoint.json and its history file. */
  files: string[]
  warnings: string[]
}
