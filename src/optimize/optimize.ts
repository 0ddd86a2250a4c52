import { LearnError } from '../errors.js'
import type { LearnCheckpoint, LearnProgramState } from '../formats/types.generated.js'
import { judgeHash } from '../judge.js'
import type { SomeLearnSpec } from '../spec.js'
import { comparePaired, improved, type PairedComparison } from '../stats.js'
import { OptimizeCalls } from './calls.js'
import { committedProgram, latestVersion, readCheckpoint, writeCheckpoint } from './checkpoint.js'
import { collectCases } from './collect.js'
import { splitCases, type OptimizeCase } from './data.js'
import { unifiedDiff } from './diff.js'
import { Evaluator, summarize, type CaseEvaluation } from './evaluate.js'
import { createLimiter } from './limit.js'
import { effectiveState } from './program.js'
import { runSearch, searchPlan, type SearchProgress, type SearchResult } from './search.js'
import { specHash } from './spec-hash.js'
import type { OptimizeOptions, OptimizePhase, OptimizeResult, OptimizeStats } from './types.js'

const defaults = { budget: 20, synthCount: 50, useTraces: true, generateExamples: true, concurrency: 8, seed: 1, holdoutShare: 0.3, traceLimit: 100 }
/** Cache writes during the search, at most this often: an interrupted run keeps what it paid for. */
const flushEveryMs = 3000
/** Failed cases reported one by one before only being counted. */
const errorsReported = 3

type Settings = typeof defaults

function settingsOf(options: OptimizeOptions): Settings {
  const spec = options.spec.optimize ?? {}
  const settings: Settings = {
    budget: options.budget ?? spec.budget ?? defaults.budget,
    synthCount: options.synthCount ?? spec.synthCount ?? defaults.synthCount,
    useTraces: options.useTraces ?? spec.useTraces ?? defaults.useTraces,
    generateExamples: options.generateExamples ?? spec.generateExamples ?? defaults.generateExamples,
    concurrency: options.concurrency ?? defaults.concurrency,
    seed: options.seed ?? defaults.seed,
    holdoutShare: options.holdoutShare ?? defaults.holdoutShare,
    traceLimit: options.traceLimit ?? defaults.traceLimit,
  }
  for (const [name, min] of [['budget', 0], ['synthCount', 0], ['concurrency', 1], ['traceLimit', 0]] as const) {
    const value = settings[name]
    if (!Number.isInteger(value) || value < min)
      throw new LearnError(`must be a whole number >= ${min}, got ${JSON.stringify(value)}`, { field: `optimize.${name}` })
  }
  if (!(settings.holdoutShare >= 0 && settings.holdoutShare < 1))
    throw new LearnError(`must be from 0 up to (not including) 1, got ${settings.holdoutShare}`, { field: 'holdoutShare' })
  return settings
}

/**
 * Optimizes one spec's prompt and keeps the result only if it wins:
 * 1. data: the spec's cases, production traces (failures to fix, good answers, recent), synthetic
 *    cases from the teacher (snapshots/<spec>/synthetic.json, made once and reused), de-duplicated;
 *    held out for the decision: the spec's cases + a seeded share of the others (`holdoutShare`);
 * 2. search: GEPA from the current checkpoint (or the seed) on the training cases, judged by the
 *    spec's judge and metric, under `budget` (see searchPlan) and the cost cap;
 * 3. decision: the current program and GEPA's best are scored on the held-out cases with the same
 *    judge; v(N+1) is written only if the paired comparison shows a win beyond noise.
 *
 * Every model call goes through the call cache, so a repeated or interrupted run does not pay twice.
 * Case evaluations share one limiter of `concurrency` slots; the current program is scored on the
 * held-out cases in the background from the start, in slots the synthesis and GEPA leave idle.
 * The cost cap ends the search with the best candidate so far (or skips it when synthesis, which is
 * bounded by synthCount and never cut short, reached the cap already); the decision always runs.
 */
export async function optimizeSpec(options: OptimizeOptions): Promise<OptimizeResult> {
  const { spec, snapshotDir } = options
  const settings = settingsOf(options)
  const started = performance.now()
  const warnings: string[] = []
  const files: string[] = []
  const warn = (message: string) => {
    warnings.push(message)
    options.onWarning?.(message)
  }
  const where = options.specFile ? { file: options.specFile } : {}

  const current = await readCheckpoint(snapshotDir)
  if (current?.hashes && current.hashes.spec !== specHash(spec))
    warn(`the spec changed after checkpoint v${current.version}; both programs are scored on the spec as it is now`)
  const start = effectiveState(spec, {
    ...current?.program,
    instruction: current?.program.instruction || spec.instruction,
  })

  const calls = await openCalls(options)
  const { meter } = calls
  const limit = createLimiter(settings.concurrency)
  let errors = 0
  const onError = (caseId: string, message: string) => {
    if (++errors <= errorsReported) warn(`case ${caseId} failed and scores 0: ${message}`)
  }
  // The search stops at the cost cap; the decision must finish, so it has its own, uncapped evaluator.
  const { capped, uncapped } = calls
  const searchEvaluator = new Evaluator({ spec, student: capped.student, judge: capped.judge, limit, stopped: () => meter.capped || meter.aborted, onError })
  // Set when optimizeSpec settles, so background work still queued is skipped instead of run.
  let settled = false
  const decisionEvaluator = new Evaluator({ spec, student: uncapped.student, judge: uncapped.judge, limit, stopped: () => meter.aborted || settled, onError })
  const checkAborted = () => {
    if (meter.aborted)
      throw new LearnError('optimize was interrupted; the model calls it made are cached, so running it again resumes without paying for them', where)
  }

  let search: SearchProgress = { round: 0, bestScore: 0, metricCalls: 0, maxMetricCalls: 0 }
  let phase: OptimizePhase = 'data'
  const emit = (next: OptimizePhase = phase) => {
    phase = next
    options.onProgress?.({
      spec: spec.name,
      phase,
      ...search,
      calls: meter.calls,
      cacheHits: calls.cacheHits,
      tokens: meter.usage.totalTokens,
      usd: meter.usd,
      elapsedMs: Math.round(performance.now() - started),
    })
  }
  let lastFlush = performance.now()
  const flushNowAndThen = () => {
    if (performance.now() - lastFlush < flushEveryMs) return
    lastFlush = performance.now()
    calls.flush().catch((error: unknown) => warn(`could not write the call cache: ${(error as Error).message}`))
  }

  const background: Promise<unknown>[] = []
  try {
    emit('data')
    const specCases = spec.cases.map((item): OptimizeCase => ({ ...item, source: 'spec' }))
    background.push(decisionEvaluator.evaluateAll(start, specCases, 'background'))
    const collected = await collectCases({
      spec,
      snapshotDir,
      storage: options.storage,
      traceName: options.traceName ?? spec.name,
      traceLimit: settings.traceLimit,
      useTraces: settings.useTraces,
      generateExamples: settings.generateExamples,
      synthCount: settings.synthCount,
      teacher: uncapped.teacher,
      limit,
      concurrency: settings.concurrency,
      warn,
    })
    checkAborted()
    if (collected.written) files.push(collected.written)
    await calls.flush()
    const split = splitCases({ specCases, others: [...collected.traces, ...collected.synthetic], holdoutShare: settings.holdoutShare, seed: settings.seed })
    if (split.train.length < 2)
      throw new LearnError(
        `optimize needs at least 2 cases to learn from besides the spec's own (which are held out to decide), and has ${split.train.length}`,
        { ...where, field: 'optimize', fix: 'enable generateExamples with a synthCount of 10 or more, or useTraces with a trace store that holds traces of this spec' },
      )
    const beforePending = decisionEvaluator.evaluateAll(start, split.validation, 'background')
    background.push(beforePending)

    emit('search')
    let result: SearchResult
    if (meter.capped) {
      const plan = searchPlan(settings.budget, split.train.length, options.minibatchSize)
      result = { state: start, plan, progress: { ...search, maxMetricCalls: plan.maxMetricCalls }, converged: false }
    } else {
      result = await runSearch({
        spec,
        start,
        train: split.train,
        evaluator: searchEvaluator,
        services: capped,
        budget: settings.budget,
        ...(options.minibatchSize !== undefined ? { minibatchSize: options.minibatchSize } : {}),
        seed: settings.seed,
        onWarning: warn,
        onProgress: (progress) => {
          search = progress
          emit()
          flushNowAndThen()
        },
      })
    }
    checkAborted()
    search = result.progress
    const stoppedBy = meter.capped ? 'cost-cap' : result.converged ? 'converged' : 'budget'

    emit('decision')
    const [before, after] = await Promise.all([beforePending, decisionEvaluator.evaluateAll(result.state, split.validation)])
    checkAborted()
    if (before.every((evaluation) => evaluation.error))
      throw new LearnError(`every held-out case failed, so nothing can be compared: ${before[0]?.error ?? ''}`, {
        ...where,
        fix: 'check the models in learn() (API key, apiURL, model name) and run vitest-learn --optimize again',
      })
    if (errors > errorsReported) warn(`${errors} case evaluations failed in all and scored 0`)

    const comparison = comparePaired(scoresOf(before), scoresOf(after), { seed: settings.seed })
    const stats: OptimizeStats = {
      metricCalls: search.metricCalls,
      maxMetricCalls: result.plan.maxMetricCalls,
      rounds: search.round,
      errors,
      cacheHits: calls.cacheHits,
      synthetic: collected.synthetic.length,
      traces: collected.traces.length,
      train: split.train.length,
      validation: split.validation.length,
    }
    const outcome: OptimizeResult = {
      decision: 'kept-previous',
      ...(current ? { previousVersion: current.version } : {}),
      comparison,
      before: scoreSummary(before),
      after: scoreSummary(after),
      instruction: {
        before: start.instruction,
        after: result.state.instruction,
        diff: unifiedDiff(start.instruction, result.state.instruction, [current ? `v${current.version}` : 'seed', 'candidate']),
      },
      cost: { calls: meter.calls, usage: { ...meter.usage }, usd: roundUsd(meter.usd) },
      stats,
      stoppedBy,
      files,
      warnings,
    }
    if (improved(comparison)) {
      const version = (await latestVersion(snapshotDir, current)) + 1
      const checkpoint = checkpointOf({
        spec,
        version,
        parent: current?.version ?? null,
        program: result.state,
        after,
        comparison,
        outcome,
        extra: {
          budget: settings.budget,
          seed: settings.seed,
          minibatchSize: result.plan.minibatchSize,
          paretoSize: result.plan.paretoSize,
          bestTrainScore: search.bestScore,
          stoppedBy,
        },
      })
      const written = await writeCheckpoint(snapshotDir, checkpoint)
      files.push(written.history, written.current)
      outcome.decision = 'written'
      outcome.version = version
    }
    emit('done')
    return outcome
  } finally {
    settled = true
    await Promise.allSettled(background)
    await calls.flush()
  }
}

const openCalls = (options: OptimizeOptions) =>
  OptimizeCalls.open({
    spec: options.spec,
    models: options.models,
    cacheDir: options.cacheDir,
    caps: {
      ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
      ...(options.maxUsd !== undefined ? { maxUsd: options.maxUsd } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
    ...(options.specFile ? { specFile: options.specFile } : {}),
  })

const scoresOf = (evaluations: readonly CaseEvaluation[]) => evaluations.map((evaluation) => evaluation.score)
const roundUsd = (usd: number): number => Math.round(usd * 1e6) / 1e6

function scoreSummary(evaluations: readonly CaseEvaluation[]) {
  const { mean, perCase } = summarize(evaluations)
  return { mean, perCase }
}

interface CheckpointInput {
  spec: SomeLearnSpec
  version: number
  parent: number | null
  program: LearnProgramState
  /** The candidate's held-out evaluations; the spec's cases among them are the baseline. */
  after: readonly CaseEvaluation[]
  comparison: PairedComparison
  outcome: OptimizeResult
  extra: Record<string, unknown>
}

/** v(N+1): the program, the baseline the regression gate holds it to, hashes, cost and optimizer stats. */
function checkpointOf(input: CheckpointInput): LearnCheckpoint {
  const { spec, outcome } = input
  const ids = new Set(spec.cases.map((item) => item.id))
  // A case that failed (a transient provider error) has no score: a 0 there would let any drop pass the gate.
  const baseline = summarize(input.after.filter((evaluation) => ids.has(evaluation.caseId) && !evaluation.error && !evaluation.skipped))
  return {
    format: 1,
    name: spec.name,
    version: input.version,
    parent: input.parent,
    created: new Date().toISOString(),
    program: committedProgram(input.program),
    score: input.comparison.meanAfter,
    baseline: { mean: baseline.mean, scores: baseline.perCase },
    hashes: { spec: specHash(spec), judge: judgeHash(spec.judge) },
    optimizer: { type: 'GEPA', stats: { ...outcome.stats, ...input.extra, comparison: { ...input.comparison } } },
    cost: outcome.cost,
  }
}
