export { optimizeSpec } from './optimize.js'
export { specHash } from './spec-hash.js'
export { scoreProgram, Evaluator, summarize, type CaseEvaluation, type ProgramScore, type ScoreProgramOptions, type EvaluatorOptions } from './evaluate.js'
export { OptimizeCalls, CostMeter, CostCapError, type CostCaps, type OptimizeServices, type OpenCallsOptions } from './calls.js'
export { defaultPlan, runSearch, type SearchPlan, type SearchProgress, type SearchOptions, type SearchResult, type CandidateRecord } from './search.js'
export { buildProgram, effectiveState } from './program.js'
export { readCheckpoint, writeCheckpoint, latestVersion, historyPath, committedProgram } from './checkpoint.js'
export { feedbackKind, traceCases, loadTraces, type FeedbackKind } from './traces.js'
export { splitCases, type OptimizeCase, type Split } from './data.js'
export { readSynthetic, syntheticPath, type SyntheticFile, type SyntheticExample } from './synthetic.js'
export { unifiedDiff } from './diff.js'
export type {
  OptimizeOptions,
  OptimizeResult,
  OptimizeProgress,
  OptimizePhase,
  OptimizeCost,
  OptimizeStats,
  ScoreSummary,
} from './types.js'
