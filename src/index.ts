export { defineLearn, isLearnSpec, defaultThreshold, defaultTolerance, defaultSamples, defaultJudgeSamples } from './spec.js'
export type {
  LearnCase,
  LearnJudgeOptions,
  LearnMetric,
  LearnMetricArgs,
  LearnModel,
  LearnOptimizeOptions,
  LearnResolvedCase,
  LearnScorer,
  LearnSpec,
  LearnSpecInput,
  LearnToolCall,
  LearnTrajectory,
  LearnTurn,
} from './spec.js'
export { LearnError } from './errors.js'
export { ProviderError, type RetrySettings } from './models/index.js'
export { SpecSession, type LearnModels, type SessionOptions, type CaseResult, type SessionSummary } from './session.js'
export { Tape, type TapeCounters, type TapeMode } from './tape/tape.js'
export { TapeService } from './tape/service.js'
export { judgeHash, runJudge, type JudgeVerdict } from './judge.js'
export { evaluateGate, type GateBaseline, type GateResult, type RegressionResult } from './gate.js'
export type { RegressionVerdict } from './stats.js'
export { freshBaseline, type FreshBaselineInput } from './fresh-baseline.js'
export type {
  LearnCheckpoint,
  LearnHistoryLine,
  LearnReport,
  LearnReportSpec,
  LearnTape,
  LearnTapeEntry,
  LearnTraceLine,
  LearnUsage,
} from './formats/types.generated.js'
export * from './storage/index.js'
export { AxLearn, learn, type AxLearnOptions, type AxLearnProgress } from './runtime/learn.js'
