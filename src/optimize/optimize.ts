import { LearnError } from '../errors.js'
import { join } from 'node:path'
import { toPrettyJson, writeFileAtomic } from '../formats/files.js'
import type { LearnBaseline, LearnCheckpoint, LearnOptimizeRun, LearnProgramState } from '../formats/types.generated.js'
import { assertFormat } from '../formats/validate.js'
import { redact } from '../redact.js'
import { freshBaseline } from '../fresh-baseline.js'
import type { SomeLearnSpec } from '../spec.js'
import { rounded, type PairedComparison } from '../stats.js'
import { OptimizeCalls, providerFailuresToStop } from './calls.js'
import { committedProgram, latestVersion, readCheckpoint, writeCheckpoint } from './checkpoint.js'
import { snapshotFiles } from '../formats/layout.js'
import { collectCases, type Collected } from './collect.js'
import { SyntheticReferences } from './synthetic.js'
import { splitCases, type OptimizeCase, type Split } from './data.js'
import { decide, type Decision } from './decision.js'
import { unifiedDiff } from './diff.js'
import { Evaluator, summarize, type CaseEvaluation } from './evaluate.js'
import { createLimiter, type Limiter } from './limit.js'
import { buildProgram, componentsOf, effectiveState, primaryInstructionKey } from './program.js'
import { defaultPlan, runSearch, type SearchProgress, type SearchResult } from './search.js'
import { specHash, specHashes } from './spec-hash.js'
import type { ComponentChange, OptimizeOptions, OptimizePhase, OptimizeResult, OptimizeStats } from './types.js'

const defaults = { budget: 20, synthCount: 50, useTraces: true, generateExamples: true, concurrency: 8, seed: 1, holdoutShare: 0.3, traceLimit: 100 }
/** Cache writes during the run, at most this often (the journal keeps every call in between). */
const flushEveryMs = 3000
/** Failed cases reported one by one before only being counted. */
const errorsReported = 3
/** Held-out cases added at a time while the decision is unclear. */
const decisionBatch = 8

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
 * Optimizes one spec's prompt and keeps the result only if it wins, in three phases:
 * 1. data: the spec's cases, production traces, synthetic cases (see collectCases); held out for
 *    the decision: the spec's cases + a seeded share of the others;
 * 2. search: `budget` rounds of reflective proposals from the current checkpoint (or the seed) on
 *    the training cases (see runSearch);
 * 3. decision: the current program and the search's best are compared on the held-out cases; v(N+1)
 *    is written only if the candidate wins beyond noise. Keeping the current program is a normal
 *    outcome, not an error.
 *
 * Every model call goes through the call cache and the cost cap (see OptimizeCalls); cases share
 * one limiter of `concurrency` slots, and the current program's held-out scores are computed in the
 * background from the start, in slots the rest leaves idle.
 */
export async function optimizeSpec(options: OptimizeOptions): Promise<OptimizeResult> {
  const run = await OptimizeRun.open(options)
  try {
    const data = await run.collect()
    const search = await run.search(data.split)
    const decision = await run.decide(data.split, search)
    return await run.conclude(data, search, decision)
  } finally {
    await run.close()
  }
}

interface RunData {
  collected: Collected
  split: Split
}

class OptimizeRun {
  private readonly started = performance.now()
  private readonly startedAt = new Date()
  private readonly warnings: string[] = []
  private readonly files: string[] = []
  private readonly background: Promise<unknown>[] = []
  private phase: OptimizePhase = 'data'
  private progress: SearchProgress
  private lastFlush = performance.now()
  private errors = 0
  /** Set once the run settles, so background work still queued is skipped instead of run. */
  private settled = false
  /** Reference answers of synthetic cases, made as they are first scored (known once the data is in). */
  private references: SyntheticReferences | undefined

  private constructor(
    private readonly options: OptimizeOptions,
    private readonly settings: Settings,
    private readonly current: LearnCheckpoint | undefined,
    private readonly start: LearnProgramState,
    private readonly calls: OptimizeCalls,
    private readonly limit: Limiter,
    private readonly evaluator: Evaluator,
  ) {
    this.progress = { round: 0, rounds: settings.budget, bestScore: 0, proposals: 0, accepted: 0, merges: 0 }
  }

  static async open(options: OptimizeOptions): Promise<OptimizeRun> {
    const { spec } = options
    const settings = settingsOf(options)
    const current = await readCheckpoint(options.snapshotDir)
    const start = effectiveState(spec, { ...current?.program, instruction: current?.program.instruction || spec.instruction })
    const calls = await OptimizeCalls.open({
      spec,
      models: options.models,
      cacheDir: options.cacheDir,
      caps: {
        ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
        ...(options.maxUsd !== undefined ? { maxUsd: options.maxUsd } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      ...(options.prices ? { prices: options.prices } : {}),
      ...(options.noCache ? { noCache: true } : {}),
      ...(options.specFile ? { specFile: options.specFile } : {}),
    })
    const limit = createLimiter(settings.concurrency)
    // eslint-disable-next-line prefer-const -- the evaluator reports failures to the run it belongs to
    let run: OptimizeRun | undefined
    const evaluator = new Evaluator({
      spec,
      student: calls.services.student,
      judge: calls.services.judge,
      limit,
      stopped: () => calls.meter.stopped || run!.settled,
      onError: (caseId, message) => run!.caseFailed(caseId, message),
      reference: (item) => run!.references?.expectedOf(item) ?? Promise.resolve(undefined),
    })
    run = new OptimizeRun(options, settings, current, start, calls, limit, evaluator)
    if (current?.hashes && current.hashes.spec !== specHash(spec))
      run.warn(`the spec changed after checkpoint v${current.version}; both programs are scored on the spec as it is now`)
    return run
  }

  private get where() {
    return this.options.specFile ? { file: this.options.specFile } : {}
  }

  warn(message: string): void {
    this.warnings.push(message)
    this.options.onWarning?.(message)
  }

  private caseFailed(caseId: string, message: string): void {
    if (++this.errors <= errorsReported) this.warn(`case ${caseId} failed and is left out of the comparisons: ${message}`)
  }

  private emit(phase: OptimizePhase = this.phase): void {
    this.phase = phase
    const { meter } = this.calls
    this.options.onProgress?.({
      spec: this.options.spec.name,
      phase,
      ...this.progress,
      calls: meter.calls,
      cacheHits: this.calls.cacheHits,
      tokens: meter.usage.totalTokens,
      usd: meter.usd,
      elapsedMs: Math.round(performance.now() - this.started),
    })
    if (performance.now() - this.lastFlush >= flushEveryMs) {
      this.lastFlush = performance.now()
      this.calls.flush().catch((error: unknown) => this.warn(`could not write the call cache: ${(error as Error).message}`))
    }
  }

  /** The run stops on Ctrl-C, or on a provider that keeps failing: going on would only pay for more failures. */
  private checkInterrupted(): void {
    if (this.calls.meter.aborted)
      throw new LearnError('optimize was interrupted; the model calls it made are cached, so running it again resumes without paying for them', this.where)
    const { down } = this.calls.meter
    if (down)
      throw new LearnError(`optimize stopped: ${providerFailuresToStop} calls in a row failed at the provider, the last with: ${down.detail}`, {
        ...this.where,
        fix: `${down.fix ?? 'check the models in learn()'}; the calls already answered are cached, so running vitest-learn --optimize again resumes without paying for them`,
      })
  }

  /** Phase 1: traces and synthetic cases beside the spec's own, split into training and held-out cases. */
  async collect(): Promise<RunData> {
    const { spec } = this.options
    this.emit('data')
    const specCases = spec.cases.map((item): OptimizeCase => ({ ...item, source: 'spec' }))
    this.background.push(this.evaluator.evaluateAll(this.start, specCases, 'background'))
    const collected = await collectCases({
      spec,
      snapshotDir: this.options.snapshotDir,
      storage: this.options.storage,
      traceName: this.options.traceName ?? spec.name,
      traceLimit: this.settings.traceLimit,
      useTraces: this.settings.useTraces,
      generateExamples: this.settings.generateExamples,
      synthCount: this.settings.synthCount,
      teacher: this.calls.services.teacher,
      secrets: this.calls.secrets,
      limit: this.limit,
      warn: (message) => this.warn(message),
    })
    this.references = new SyntheticReferences(spec, this.calls.services.teacher, collected.syntheticFile, collected.syntheticPath, this.calls.secrets)
    this.checkInterrupted()
    if (collected.written) this.files.push(collected.written)
    await this.calls.flush()
    const split = splitCases({ specCases, others: [...collected.traces, ...collected.synthetic], holdoutShare: this.settings.holdoutShare, seed: this.settings.seed })
    // Too little to learn from is an error, unless the cost cap stopped the data from coming in.
    if (split.train.length < 2 && !this.calls.meter.stopped)
      throw new LearnError(
        `optimize needs at least 2 cases to learn from besides the spec's own (which are held out to decide), and has ${split.train.length}`,
        { ...this.where, field: 'optimize', fix: 'enable generateExamples with a synthCount of 10 or more, or useTraces with a trace store that holds traces of this spec' },
      )
    return { collected, split }
  }

  /** Phase 2: the rounds of reflective proposals on the training cases. */
  async search(split: Split): Promise<SearchResult> {
    this.emit('search')
    const result = await runSearch({
      spec: this.options.spec,
      start: this.start,
      train: split.train,
      evaluator: this.evaluator,
      teacher: this.calls.services.teacher,
      plan: { ...defaultPlan(this.settings.budget), ...this.options.plan },
      seed: this.settings.seed,
      stopped: () => this.calls.meter.stopped,
      spent: () => ({ calls: this.calls.meter.calls, usd: this.calls.meter.usd }),
      onProgress: (progress) => {
        this.progress = progress
        this.emit()
      },
    })
    this.checkInterrupted()
    this.progress = result.progress
    return result
  }

  /** Phase 3: the held-out comparison of the current program with the search's best. */
  async decide(split: Split, search: SearchResult): Promise<Decision> {
    this.emit('decision')
    const decision = await decide({
      evaluator: this.evaluator,
      current: this.start,
      candidate: search.state,
      specCases: split.validation.filter((item) => item.source === 'spec'),
      extraCases: split.validation.filter((item) => item.source !== 'spec'),
      batchSize: decisionBatch,
      seed: this.settings.seed,
    })
    this.checkInterrupted()
    // Failed calls, not a cost cap (whose skipped cases just leave the current program in place).
    if (decision.before.length > 0 && decision.before.every((evaluation) => evaluation.error))
      throw new LearnError(`no held-out case could be scored, so nothing can be compared: ${decision.before[0]!.error}`, {
        ...this.where,
        fix: 'check the models in learn() (API key, apiURL, model name) and the cost cap, then run vitest-learn --optimize again',
      })
    return decision
  }

  /** The outcome, and v(N+1) when the candidate won. */
  async conclude(data: RunData, search: SearchResult, decision: Decision): Promise<OptimizeResult> {
    const { spec } = this.options
    if (this.errors > errorsReported) this.warn(`${this.errors} case evaluations failed in all and were left out`)
    if (this.calls.meter.stopped && !this.calls.meter.aborted) this.warn(`the cost cap was reached (${this.calls.meter.describe()})`)
    const { before, after, comparison } = decision
    const stats: OptimizeStats = {
      budget: this.settings.budget,
      rounds: search.progress.round,
      proposals: search.progress.proposals,
      accepted: search.progress.accepted,
      merges: search.progress.merges,
      errors: this.errors,
      cacheHits: this.calls.cacheHits,
      synthetic: data.collected.synthetic.length,
      traces: data.collected.traces.length,
      train: data.split.train.length,
      validation: comparison.n,
      baselineCalls: 0,
    }
    const { meter } = this.calls
    const labels = [this.current ? `v${this.current.version}` : 'seed', 'candidate'] as const
    const outcome: OptimizeResult = {
      decision: 'kept-previous',
      ...(this.current ? { previousVersion: this.current.version } : {}),
      comparison,
      before: scoreSummary(before),
      after: scoreSummary(after),
      instruction: {
        before: this.start.instruction,
        after: search.state.instruction,
        diff: unifiedDiff(this.start.instruction, search.state.instruction, [...labels]),
      },
      components: changedComponents(spec, this.start, search.state, labels),
      cost: this.costSoFar(),
      stats,
      stoppedBy: meter.stopped ? 'cost-cap' : search.stoppedBy,
      candidates: search.candidates,
      files: this.files,
      warnings: this.warnings,
    }
    await this.saveReferences()
    if (decision.won) {
      const version = (await latestVersion(this.options.snapshotDir, this.current)) + 1
      // The gate's baseline: the accepted program evaluated afresh with the spec's samples, not the
      // draws that won the decision (which would be biased upward).
      const callsBefore = meter.calls
      const baseline = await freshBaseline({ spec, program: search.state, student: this.calls.uncapped.student, judge: this.calls.uncapped.judge, limit: this.limit })
      // A provider that went down meanwhile fails every case after it: a baseline of the cases
      // before it would leave the rest ungated. Stop; the answers paid for resume from the cache.
      this.checkInterrupted()
      stats.baselineCalls = meter.calls - callsBefore
      outcome.cost = this.costSoFar()
      const checkpoint = checkpointOf({ spec, version, parent: this.current?.version ?? null, program: search.state, baseline, comparison, outcome })
      const written = await writeCheckpoint(this.options.snapshotDir, checkpoint, this.calls.secrets)
      this.files.push(written.history, written.current)
      outcome.decision = 'written'
      outcome.version = version
    }
    this.files.push(await this.writeRunRecord(outcome))
    this.emit('done')
    return outcome
  }

  private costSoFar(): OptimizeResult['cost'] {
    const { meter } = this.calls
    return { calls: meter.calls, usage: { ...meter.usage }, usd: rounded(meter.usd) }
  }

  /**
   * The run and every candidate it made, for review and the report page: with the checkpoint it
   * wrote in snapshots/<spec>/optimize-runs/<started>.json; a run that kept the current program
   * changes nothing in snapshots/, so its record goes to the cache folder (<cacheDir>/optimize-runs/<spec>/).
   */
  private async writeRunRecord(outcome: OptimizeResult): Promise<string> {
    const { comparison } = outcome
    const record: LearnOptimizeRun = {
      format: 1,
      spec: this.options.spec.name,
      started: this.startedAt.toISOString(),
      finished: new Date().toISOString(),
      budget: outcome.stats.budget,
      decision: outcome.decision,
      ...(outcome.version !== undefined ? { version: outcome.version } : {}),
      ...(outcome.previousVersion !== undefined ? { previousVersion: outcome.previousVersion } : {}),
      stoppedBy: outcome.stoppedBy,
      comparison: { n: comparison.n, meanBefore: comparison.meanBefore, meanAfter: comparison.meanAfter, delta: comparison.delta, interval: comparison.interval, winProbability: comparison.winProbability },
      cost: { calls: outcome.cost.calls, tokens: outcome.cost.usage.totalTokens, usd: outcome.cost.usd },
      candidates: outcome.candidates,
    }
    const folder = outcome.decision === 'written' ? snapshotFiles(this.options.snapshotDir).optimizeRuns : join(this.options.cacheDir, 'optimize-runs', record.spec)
    const path = join(folder, `${record.started.replace(/:/g, '-')}.json`)
    assertFormat('optimizeRun', record, path, 'this is a bug in vitest-learn: please report it with the spec')
    await writeFileAtomic(path, redact(toPrettyJson(record), this.calls.secrets))
    return path
  }

  async close(): Promise<void> {
    this.settled = true
    await Promise.allSettled(this.background)
    await this.calls.flush()
  }

  /** Reference answers made during the run, kept in synthetic.json for the next one. */
  private async saveReferences(): Promise<void> {
    const written = await this.references?.save()
    if (written && !this.files.includes(written)) this.files.push(written)
  }
}

/** The texts `after` changed from `before`, each with a diff headed by what it is. */
function changedComponents(spec: SomeLearnSpec, before: LearnProgramState, after: LearnProgramState, labels: readonly [string, string]): ComponentChange[] {
  const primary = primaryInstructionKey(spec)
  return componentsOf(buildProgram(spec, before)).flatMap((component) => {
    const [old, now] = [before.componentMap?.[component.key] ?? component.current, after.componentMap?.[component.key] ?? component.current]
    if (old === now) return []
    const label = component.kind === 'tool' ? `tool ${component.tool}` : component.key === primary ? 'instruction' : component.key
    return [{ key: component.key, label, before: old, after: now, diff: unifiedDiff(old, now, [`${labels[0]}: ${label}`, `${labels[1]}: ${label}`]) }]
  })
}

function scoreSummary(evaluations: readonly CaseEvaluation[]) {
  const { mean, perCase } = summarize(evaluations.filter((evaluation) => !evaluation.error && !evaluation.skipped))
  return { mean, perCase }
}

interface CheckpointInput {
  spec: SomeLearnSpec
  version: number
  parent: number | null
  program: LearnProgramState
  baseline: LearnBaseline
  comparison: PairedComparison
  outcome: OptimizeResult
}

/** v(N+1): the program, the baseline the regression gate holds it to, hashes, cost and optimizer stats. */
function checkpointOf(input: CheckpointInput): LearnCheckpoint {
  const { spec, outcome } = input
  return {
    format: 1,
    name: spec.name,
    version: input.version,
    parent: input.parent,
    created: new Date().toISOString(),
    program: committedProgram(input.program),
    score: input.comparison.meanAfter,
    baseline: input.baseline,
    hashes: specHashes(spec),
    optimizer: { type: 'vitest-learn', stats: { ...outcome.stats, stoppedBy: outcome.stoppedBy, comparison: { ...input.comparison } } },
    cost: outcome.cost,
  }
}
