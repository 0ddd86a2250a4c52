import type { RetrySettings } from '../src/models/index.js'
import type { LearnAIArgs } from '../src/spec.js'
import type { LearnUsage } from '../src/formats/types.generated.js'
import type { CaseDrop, RegressionResult } from '../src/gate.js'
import type { TapeCounters } from '../src/tape/tape.js'
import type { RecordMode } from './mode.js'

/** What the main process hands to test workers (plain data: functions cannot cross). */
export interface LearnProvided {
  root: string
  /** Absolute folder holding snapshots/<spec name>/. */
  snapshotDir: string
  models: { student?: LearnAIArgs; teacher?: LearnAIArgs; judge?: LearnAIArgs; retry?: RetrySettings }
  /** `vitest-learn --optimize` (or LEARN_OPTIMIZE=1, or `vitest run -- --optimize`). */
  optimize: boolean
  /** `vitest-learn --accept`: this run's scores become the baseline of specs edited since their checkpoint. */
  accept: boolean
  /** `--record` / LEARN_RECORD; when absent, Vitest's snapshot state decides (`-u` is `all`, CI is `none`). */
  record?: RecordMode
  /** `--baseline-ref` / LEARN_BASELINE_REF: compare with the scores at this git ref instead of the checkpoint's. */
  baselineRef?: string
  failOnInconclusive: boolean
  /**
   * Scores as test annotations (JUnit properties, the HTML report), only when such a reporter runs:
   * each annotation parses a stack trace and crosses to the main process, about 0.2 ms a case.
   */
  scoreAnnotations: boolean
  optimizeSettings: LearnOptimizeSettings
  /** URL of the production trace store optimize reads (`traces.storage`). */
  traces?: string
  /** Folder of optimize's call cache, and of the journals of live answers (journal/). */
  cacheDir: string
  /** Time a case may take, its model calls and their retries included. */
  caseTimeoutMs: number
  /** Every spec file of the project → the name its source declares (null when computed); see spec-names.ts. */
  specNames: Record<string, string | null>
  /** This run's folder of spec name claims; see spec-names.ts. */
  claimsDir?: string
}

export interface LearnOptimizeSettings {
  /** Cases evaluated at once. Default 8. */
  concurrency?: number
  /** Cost cap of one spec's whole optimize run (synthesis, search, decision), in tokens. */
  maxTokens?: number
  /** Cost cap of one spec's whole optimize run, in estimated dollars; models ax has no price for need `prices`. */
  maxUsd?: number
  /** Prices of models ax has none for, by model name: dollars per million prompt and completion tokens. */
  prices?: Record<string, { promptPerMillion: number; completionPerMillion: number }>
  /** Seeds the data split, the search and the statistics. Default 1. */
  seed?: number
  /** Call every model live instead of replaying optimize's call cache (`vitest-learn --optimize --no-cache`). */
  noCache?: boolean
}

export interface LearnCaseMeta {
  kind: 'case'
  spec: string
  caseId: string
  score?: number
  /** Each scorer's mean over the samples. */
  scorers?: Record<string, number>
  /** Score of each reply. */
  samples?: number[]
  reasons?: string
  live: number
  replayed: number
  usage: LearnUsage
  costUsd: number
  /** Latency of the calls when they were recorded. */
  latencyMs: number
}

/** The `threshold:` test of a spec: its mean against the threshold, and what the run was. */
export interface LearnThresholdMeta {
  kind: 'threshold'
  spec: string
  pass: boolean
  mean: number
  interval: [number, number]
  threshold: number
  /** The spec's tolerance, which its regression check applies. */
  tolerance: number
  scored: number
  total: number
  samples: number
  judgeSamples: number
  scorers: Record<string, number>
  record: RecordMode
  message?: string
}

/** The `regression:` test of a spec: its comparison with the baseline. */
export interface LearnRegressionMeta extends Pick<RegressionResult, 'verdict' | 'pass' | 'warnings' | 'summary' | 'detectableDrop' | 'baseline'> {
  kind: 'regression'
  spec: string
  comparison?: { delta: number; interval: [number, number]; n: number; pNoise: number }
  drops: CaseDrop[]
  message?: string
  /** The checkpoint version whose baseline no longer matches the spec (edited since). */
  specEdited?: number
  /** The checkpoint version `--accept` wrote. */
  accepted?: number
}

export interface LearnSuiteMeta {
  kind: 'suite'
  spec: string
  record: RecordMode
  snapshotDir: string
  counters: TapeCounters
  tapeWritten: boolean
  tracesWritten: boolean
  historyWritten: boolean
}

export interface LearnOptimizeMeta {
  kind: 'optimize'
  spec: string
  decision: 'written' | 'kept-previous'
  version?: number
  previousVersion?: number
  /** `0.620 → 0.810 (+0.190, 95% CI +0.120..+0.260, n=12)` */
  comparison: string
  /** How likely the candidate is better than the current program (paired bootstrap). */
  winProbability: number
  calls: number
  /** Of `calls`, those that measured the written checkpoint's baseline. */
  baselineCalls: number
  tokens: number
  usd: number
  rounds: number
  budget: number
  proposals: number
  accepted: number
  stoppedBy: 'budget' | 'cost-cap' | 'converged'
  /** The diff of each text the candidate changed: the instruction, tool descriptions. */
  programDiff: string
  warnings: string[]
}

export type LearnMeta = LearnCaseMeta | LearnThresholdMeta | LearnRegressionMeta | LearnSuiteMeta | LearnOptimizeMeta

declare module 'vitest' {
  interface ProvidedContext {
    vitestLearn: LearnProvided
  }
}

declare module '@vitest/runner' {
  interface TaskMeta {
    learn?: LearnMeta
    /** Set at registration on a spec's case tests, so its gate can find and wait for them. */
    learnCase?: string
  }
}
