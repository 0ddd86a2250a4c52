import type { LearnAIArgs } from '../src/spec.js'
import type { LearnUsage } from '../src/formats/types.generated.js'
import type { TapeCounters } from '../src/tape/tape.js'

/** What the main process hands to test workers (plain data: functions cannot cross). */
export interface LearnProvided {
  root: string
  /** Absolute folder holding snapshots/<spec name>/. */
  snapshotDir: string
  models: { student?: LearnAIArgs; teacher?: LearnAIArgs; judge?: LearnAIArgs }
}

export interface LearnCaseMeta {
  kind: 'case'
  spec: string
  caseId: string
  score?: number
  reasons?: string
  live: number
  replayed: number
  usage: LearnUsage
  costUsd: number
  /** Latency of the calls when they were recorded. */
  latencyMs: number
}

export interface LearnGateMeta {
  kind: 'gate'
  spec: string
  pass: boolean
  mean: number
  threshold: number
  scored: number
  total: number
}

export interface LearnSuiteMeta {
  kind: 'suite'
  spec: string
  snapshotDir: string
  counters: TapeCounters
  tapeWritten: boolean
  tracesWritten: boolean
}

export type LearnMeta = LearnCaseMeta | LearnGateMeta | LearnSuiteMeta

declare module 'vitest' {
  interface ProvidedContext {
    vitestLearn: LearnProvided
  }
}

declare module '@vitest/runner' {
  interface TaskMeta {
    learn?: LearnMeta
  }
}
