import type { LearnUsage } from '../formats/types.generated.js'
import type { LearnModels } from '../models/index.js'
import type { SomeLearnSpec } from '../spec.js'
import type { PairedComparison } from '../stats.js'
import type { AxStorage } from '../storage/types.js'

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

  /** Defaults come from the spec's `optimize`, then: budget 20, synthCount 50, useTraces and generateExamples true. */
  budget?: number
  synthCount?: number
  useTraces?: boolean
  generateExamples?: boolean

  /** Cases evaluated at once, and parallel synthesis runs. Default 8. */
  concurrency?: number
  /**
   * Cost cap, in tokens of live calls: the search stops once it is reached and the run ends with
   * the best candidate so far. Synthesis (bounded by synthCount) and the final held-out comparison
   * are never cut short, so a run can exceed the cap by their cost.
   */
  maxTokens?: number
  /** Cost cap in estimated dollars of live calls; as maxTokens. */
  maxUsd?: number
  /** Seeds the train/validation split, GEPA and the bootstrap interval. Default 1. */
  seed?: number
  /** Share of traces and synthetic cases held out with the spec's cases for the decision. Default 0.3. */
  holdoutShare?: number
  /** Most traces read from storage. Default 100. */
  traceLimit?: number
  /** GEPA's minibatch (3 to 5 recommended). Default: 3 when budget < 20, else 4. */
  minibatchSize?: number

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
  /** GEPA rounds started. */
  round: number
  /** Best mean score of a candidate on GEPA's Pareto set (training cases). */
  bestScore: number
  metricCalls: number
  /** GEPA's metric-call budget: Pareto set size + budget. */
  maxMetricCalls: number
  /** Live model calls made (cache misses). */
  calls: number
  cacheHits: number
  tokens: number
  usd: number
  elapsedMs: number
}

export interface ScoreSummary {
  mean: number
  /** Score per held-out case id. */
  perCase: Record<string, number>
}

export interface OptimizeCost {
  /** Live calls (cache misses). */
  calls: number
  usage: LearnUsage
  usd: number
}

export interface OptimizeStats {
  metricCalls: number
  maxMetricCalls: number
  rounds: number
  /** Cases whose program or judge failed (scored 0). */
  errors: number
  cacheHits: number
  /** Synthetic cases used; traces used. */
  synthetic: number
  traces: number
  /** Training cases (GEPA) and held-out cases (decision). */
  train: number
  validation: number
}

export interface OptimizeResult {
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
  cost: OptimizeCost
  stats: OptimizeStats
  stoppedBy?: 'budget' | 'cost-cap' | 'converged'
  /** Files written: synthetic.json, checkpoint.json and its history file. */
  files: string[]
  warnings: string[]
}
