import { LearnError } from '../src/errors.js'
import { unknownNameMessage } from '../src/suggest.js'

/** Environment variables the bin sets and the plugin reads, so `LEARN_OPTIMIZE=1 vitest run` works too. */
export const learnEnv = {
  optimize: 'LEARN_OPTIMIZE',
  accept: 'LEARN_ACCEPT',
  noCache: 'LEARN_NO_CACHE',
  record: 'LEARN_RECORD',
  baselineRef: 'LEARN_BASELINE_REF',
  report: 'LEARN_REPORT',
} as const

/**
 * What a run does with recordings: `missing` records what lacks one (Vitest's default), `all`
 * re-records everything (-u), `none` replays only (CI), `live` calls the models for everything and
 * writes nothing (a check for model drift).
 */
export const recordModes = ['missing', 'all', 'none', 'live'] as const
export type RecordMode = (typeof recordModes)[number]

const truthy = (value: string | undefined) => value !== undefined && value !== '' && value !== '0' && value !== 'false'

/** Optimize mode: the bin's flag, the environment variable, or `vitest run -- --optimize`. */
export function optimizeRequested(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv): boolean {
  return truthy(env[learnEnv.optimize]) || argv.includes('--optimize')
}

export function acceptRequested(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv): boolean {
  return truthy(env[learnEnv.accept]) || argv.includes('--accept')
}

/** `vitest-learn --optimize --no-cache` (or LEARN_NO_CACHE=1): optimize calls every model live. */
export function noCacheRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return truthy(env[learnEnv.noCache])
}

/** The problem with a record mode's spelling, with the mode it most likely meant. */
export function recordModeProblem(value: string): string | undefined {
  return (recordModes as readonly string[]).includes(value) ? undefined : unknownNameMessage('record mode', value, recordModes)
}

/** Why a record mode cannot go with optimizing or accepting, in the bin's words; undefined when it can. */
export function recordModeConflict(record: string | undefined, jobs: { optimize: boolean; accept: boolean }): string | undefined {
  if ((record === 'none' || record === 'live') && jobs.optimize)
    return `--optimize calls models and writes a checkpoint; --record=${record} cannot go with it (--record=missing can)`
  if (record === 'live' && jobs.accept) return '--accept writes a baseline and --record=live writes nothing: run them separately'
  return undefined
}

/** The record mode LEARN_RECORD (or the bin's --record) asks for; undefined leaves it to Vitest's snapshot state. */
export function recordRequested(env: NodeJS.ProcessEnv = process.env): RecordMode | undefined {
  const value = env[learnEnv.record]
  if (value === undefined || value === '') return undefined
  const problem = recordModeProblem(value)
  if (problem) throw new LearnError(problem, { field: learnEnv.record, fix: `set ${learnEnv.record} to one of ${recordModes.join(', ')}` })
  return value as RecordMode
}

/** The report page after the run: --report (LEARN_REPORT=1), and every optimize run unless LEARN_REPORT=0. */
export function reportPageRequested(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv): boolean {
  const value = env[learnEnv.report]
  if (value !== undefined && value !== '') return truthy(value)
  return optimizeRequested(env, argv) || argv.includes('--report')
}

export function baselineRefRequested(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[learnEnv.baselineRef] || undefined
}
