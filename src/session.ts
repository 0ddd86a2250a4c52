import { join } from 'node:path'
import type { AxAIService } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import { readJsonFile, readJsonLines, toPrettyJson, writeFileAtomic } from './formats/files.js'
import { snapshotFiles } from './formats/layout.js'
import type { LearnCheckpoint, LearnTraceLine } from './formats/types.generated.js'
import { evaluateGate, type GateBaseline, type GateResult } from './gate.js'
import { appendHistory } from './history.js'
import { chooseModel, resolveModel, type LearnModels, type ResolvedModel } from './models/index.js'
import { programsFor, type ProgramForRun } from './optimize/program.js'
import { specHashes } from './optimize/spec-hash.js'
import { apiKeysOf, redact } from './redact.js'
import { evaluateCase, type SampledCase } from './sampling.js'
import type { SomeLearnCase, SomeLearnSpec } from './spec.js'
import { TapeService, type TapeCallStats } from './tape/service.js'
import { Tape, type TapeCounters, type TapeMode, type TapeRole } from './tape/tape.js'

export type { LearnModels } from './models/index.js'

/**
 * How a run treats recordings: the tape's modes (`new` records what is missing, `all` re-records,
 * `none` replays only), or `live`: every call goes to the models and nothing is written.
 */
export type SessionMode = TapeMode | 'live'

export interface SessionOptions {
  spec: SomeLearnSpec
  /** The spec's file, as shown in errors. */
  specFile: string
  /** snapshots/<spec name>/ */
  snapshotDir: string
  mode: SessionMode
  models: LearnModels
  /** The command that records what is missing, e.g. `npx vitest run examples/support.learn.ts`. */
  recordCommand: string
  /** Services to call instead of the configured models for what the tape lacks (e.g. optimize's call cache). */
  live?: Partial<Record<TapeRole, AxAIService>>
  /** Folder outside snapshots/ for the journal of live answers (see TapeOptions.journal). */
  journalDir?: string
  /** An inconclusive comparison with the baseline fails the regression check. */
  failOnInconclusive?: boolean
}

export interface CaseResult {
  caseId: string
  score: SampledCase
  student: TapeCallStats
  judge: TapeCallStats
}

export interface SessionSummary {
  counters: TapeCounters
  tapeWritten: boolean
  tracesWritten: boolean
  /** A line was appended to history.jsonl (a run that recorded). */
  historyWritten: boolean
}

/**
 * One spec's run: its tape, its program (seed or checkpoint), its models, and the scores of the
 * cases run so far. Knows nothing of Vitest: the plugin drives it one case at a time.
 */
export class SpecSession {
  private readonly results = new Map<string, CaseResult>()
  private readonly failures = new Map<string, string>()
  private readonly models = new Map<TapeRole, ResolvedModel>()
  /** This run's trace lines, per case. */
  private readonly traceLines = new Map<string, LearnTraceLine[]>()
  private readonly previousByCase = new Map<string, LearnTraceLine[]>()
  /** The spec's own hashes, computed once: the spec does not change during a run. */
  private hashes: { spec: string; judge: string } | undefined
  private configuredPrograms: ProgramForRun | undefined
  private readonly callStats = new Map<string, Pick<CaseResult, 'student' | 'judge'>>()
  /** Set by compareWith(): the baseline to use instead of the checkpoint's, possibly none at all. */
  private otherBaseline: { baseline: GateBaseline | undefined } | undefined
  /** The gate of the run as it stands (its bootstraps are the costly part); dropped by anything that changes it. */
  private lastGate: GateResult | undefined

  private constructor(
    readonly options: SessionOptions,
    readonly tape: Tape,
    private current: LearnCheckpoint | undefined,
    /** traces.jsonl as it was, in its order. */
    private readonly previousTraces: readonly LearnTraceLine[],
  ) {
    for (const line of previousTraces) {
      const caseId = line.case ?? line.id
      const lines = this.previousByCase.get(caseId)
      if (lines) lines.push(line)
      else this.previousByCase.set(caseId, [line])
    }
  }

  static async open(options: SessionOptions): Promise<SpecSession> {
    const files = snapshotFiles(options.snapshotDir)
    const fix = `fix or delete the file, then run ${options.recordCommand}`
    const live = options.mode === 'live'
    const [tape, checkpoint, traces] = await Promise.all([
      Tape.load({
        path: files.tape,
        spec: options.spec.name,
        // `live` asks the models for everything, as -u does, and keeps nothing (see close()).
        mode: options.mode === 'live' ? 'all' : options.mode,
        recordCommand: options.recordCommand,
        secrets: secretsOf(options.spec, options.models),
        ...(options.journalDir && !live ? { journal: join(options.journalDir, `${options.spec.name}.jsonl`) } : {}),
      }),
      readJsonFile(files.checkpoint, 'checkpoint', fix),
      // traces.jsonl is rewritten by runs that record; replay-only runs never read it.
      options.mode === 'none'
        ? []
        : readJsonLines(files.traces, 'trace', fix).catch((error: unknown) => {
            if (options.mode === 'all') return []
            throw error
          }),
    ])
    if (checkpoint && checkpoint.name !== options.spec.name)
      throw new LearnError(`is the checkpoint of spec "${checkpoint.name}", not of "${options.spec.name}", so its program and baseline do not apply here`, {
        file: files.checkpoint,
        field: 'name',
        fix: `if this folder was renamed along with the spec, set "name" to "${options.spec.name}" in the file; otherwise move it back to snapshots/${checkpoint.name}/`,
      })
    return new SpecSession(options, tape, checkpoint, traces)
  }

  /** The committed checkpoint the cases run with and are gated against. */
  get checkpoint(): LearnCheckpoint | undefined {
    return this.current
  }

  /** Gates the rest of the run against another checkpoint (one `--accept` just wrote). */
  useBaselineOf(checkpoint: LearnCheckpoint): void {
    this.current = checkpoint
    this.lastGate = undefined
  }

  get spec(): SomeLearnSpec {
    return this.options.spec
  }

  /** The prompt the cases run with: the committed checkpoint's, else the seed instruction. */
  get instruction(): string {
    return this.checkpoint?.program.instruction || this.spec.instruction
  }

  private model(role: TapeRole): ResolvedModel {
    let resolved = this.models.get(role)
    if (resolved) return resolved
    const model = chooseModel(this.options.spec, this.options.models, role)
    if (!model)
      throw new LearnError(`no ${role} model is configured`, {
        file: this.options.specFile,
        field: role,
        fix: `add ${role}: { name: 'openai', apiKey: process.env.OPENAI_APIKEY, config: { model: '...' } } to learn() in vitest.config.ts, or to the spec`,
      })
    resolved = resolveModel(model, role)
    this.models.set(role, resolved)
    return resolved
  }

  private service(caseId: string, role: TapeRole): TapeService {
    const { service, identity } = this.model(role)
    const live = this.options.live?.[role] ?? service
    // A tape behind this one (optimize's call cache) answers this case's tool calls too: it needs a run of its own.
    return new TapeService(this.tape, live instanceof TapeService ? live.fork() : live, identity, { caseId, role })
  }

  /** The programs the cases run (see programsFor), made once: the spec does not change during a run. */
  private programs(): ProgramForRun {
    return (this.configuredPrograms ??= programsFor(this.spec, { ...this.checkpoint?.program, instruction: this.instruction }))
  }

  /** Runs one case on the student (`samples` replies), scores it, and keeps the result for the gate and traces.jsonl. */
  async runCase(item: SomeLearnCase): Promise<CaseResult> {
    this.tape.caseStarted(item.id)
    const student = this.service(item.id, 'student')
    const judge = this.service(item.id, 'judge')
    this.callStats.set(item.id, { student: student.stats, judge: judge.stats })
    const startTime = new Date()
    const replies = replyMeter(student.stats)
    try {
      const score = await evaluateCase({
        spec: this.spec,
        item,
        program: this.programs(),
        student,
        judge: () => judge,
        ...(this.checkpoint?.program.modelConfig ? { modelConfig: this.checkpoint.program.modelConfig } : {}),
        step: (sample, run) => replies.measure(sample, () => this.withTapeErrors(item.id, run)),
      })
      const result: CaseResult = { caseId: item.id, score, student: student.stats, judge: judge.stats }
      this.results.set(item.id, result)
      this.lastGate = undefined
      this.tape.caseSucceeded(item.id)
      if (this.options.mode === 'new' || this.options.mode === 'all') this.keepTraces(item, result, replies.costs, startTime)
      return result
    } catch (error) {
      this.failures.set(item.id, error instanceof Error ? error.message.split('\n')[0]! : String(error))
      this.lastGate = undefined
      throw error
    }
  }

  /** Calls a case made so far, also when it failed. */
  statsOf(caseId: string): Pick<CaseResult, 'student' | 'judge'> {
    const empty = (): TapeCallStats => ({ live: 0, replayed: 0, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, costUsd: 0, latencyMs: 0 })
    return this.callStats.get(caseId) ?? { student: empty(), judge: empty() }
  }

  /**
   * A missing recording surfaces as ax's generic failure; report the tape's own error instead. A
   * program that got over a miss (an agent whose code caught a stale tool call's error) fails too.
   */
  private async withTapeErrors<T>(caseId: string, run: () => Promise<T>): Promise<T> {
    try {
      const result = await run()
      const miss = this.tape.missesOf(caseId)[0]
      if (miss) throw miss
      return result
    } catch (error) {
      const miss = this.tape.missesOf(caseId)[0]
      if (miss) throw miss
      if (error instanceof LearnError) throw error
      throw new LearnError(`case ${caseId} failed: ${error instanceof Error ? error.message : String(error)}`, {
        file: this.options.specFile,
      })
    }
  }

  /** One trace line per sample: `<case id>` for the first, `<case id>#<n>` for the others. */
  private keepTraces(item: SomeLearnCase, result: CaseResult, replies: readonly ReplyCost[], startTime: Date): void {
    const previousLines = new Map((this.previousByCase.get(item.id) ?? []).map((line) => [line.id, line]))
    let offsetMs = 0
    const lines = result.score.samples.map((sample, index): LearnTraceLine => {
      const { usage, latencyMs: durationMs } = replies[index]!
      const started = new Date(startTime.getTime() + offsetMs)
      offsetMs += durationMs
      const line: LearnTraceLine = {
        type: 'trace',
        id: index === 0 ? item.id : `${item.id}#${index}`,
        name: this.spec.name,
        input: item.input,
        output: sample.prediction,
        startTime: started.toISOString(),
        endTime: new Date(started.getTime() + durationMs).toISOString(),
        durationMs,
        model: this.model('student').identity.model,
        usage,
        case: item.id,
        sample: index,
        score: sample.score,
        scores: sample.scorers,
        reasons: sample.reasons,
      }
      const previous = previousLines.get(line.id)
      // A replayed case keeps its recorded times, so traces.jsonl changes only when an answer does.
      const unchanged =
        previous &&
        toPrettyJson({ ...previous, startTime: '', endTime: '' }) === toPrettyJson({ ...line, startTime: '', endTime: '' })
      return unchanged ? previous : line
    })
    this.traceLines.set(item.id, lines)
  }

  /** The scored cases in the spec's order, whatever order they finished in: ties in the gate's lists stay put from run to run. */
  scores(): SampledCase[] {
    return this.spec.cases.flatMap((item) => {
      const result = this.results.get(item.id)
      return result ? [result.score] : []
    })
  }

  /** Compares the run with these scores instead of the checkpoint's baseline (e.g. another git ref's). */
  compareWith(baseline: GateBaseline | undefined): void {
    this.otherBaseline = { baseline }
    this.lastGate = undefined
  }

  /** What the regression check compares with: the one given to compareWith(), else the checkpoint's. */
  private baseline(): GateBaseline | undefined {
    if (this.otherBaseline) return this.otherBaseline.baseline
    const { checkpoint } = this
    if (!checkpoint?.baseline) return undefined
    return { label: `checkpoint v${checkpoint.version}`, scores: checkpoint.baseline.scores, samples: checkpoint.baseline.samples ?? 1 }
  }

  gate(): GateResult {
    return (this.lastGate ??= this.evaluateGate())
  }

  private evaluateGate(): GateResult {
    const baseline = this.baseline()
    return evaluateGate({
      threshold: this.spec.threshold,
      cases: this.spec.cases.map((item) => ({ id: item.id, name: item.name })),
      scores: this.scores(),
      failures: this.failures,
      tolerance: this.spec.tolerance,
      ...(baseline ? { baseline } : {}),
      // A baseline from elsewhere is compared case by case; the checkpoint's edit check is about its own.
      ...(!this.otherBaseline && this.specEditedSince() ? { editedSince: this.checkpoint!.version } : {}),
      failOnInconclusive: this.options.failOnInconclusive ?? false,
      specFile: this.options.specFile,
    })
  }

  /** The spec no longer matches what its checkpoint's baseline was measured on. */
  specEditedSince(): boolean {
    const hashes = this.checkpoint?.hashes
    this.hashes ??= specHashes(this.spec)
    return hashes !== undefined && (hashes.spec !== this.hashes.spec || hashes.judge !== this.hashes.judge)
  }

  /**
   * Writes the tape and traces.jsonl when they changed, and after a run that recorded, a line of
   * history.jsonl (never in replay-only mode, and nothing at all in `live` mode).
   */
  async close(): Promise<SessionSummary> {
    if (this.options.mode === 'live') return { counters: this.tape.counters, tapeWritten: false, tracesWritten: false, historyWritten: false }
    const specCases = new Set(this.spec.cases.map((item) => item.id))
    const { written: tapeWritten } = await this.tape.finish(specCases)
    let tracesWritten = false
    if (this.options.mode !== 'none' && this.traceLines.size > 0) {
      // Lines of cases no longer in the spec go only when every case of it succeeded in this run.
      const everyCaseSucceeded = this.spec.cases.every((item) => this.results.has(item.id))
      const leftovers = everyCaseSucceeded ? [] : this.previousTraces.filter((line) => !specCases.has(line.case ?? line.id))
      const lines = this.spec.cases
        .flatMap((item) => this.traceLines.get(item.id) ?? this.previousByCase.get(item.id) ?? [])
        .concat(leftovers)
      const text = lines.map((line) => JSON.stringify(line)).join('\n') + '\n'
      const before = this.previousTraces.map((line) => JSON.stringify(line)).join('\n') + '\n'
      if (text !== before) {
        await writeFileAtomic(snapshotFiles(this.options.snapshotDir).traces, redact(text, this.tape.options.secrets ?? []))
        tracesWritten = true
      }
    }
    const { mode } = this.options
    const recorded = (mode === 'new' || mode === 'all') && this.tape.counters.recorded + this.tape.counters.rerecorded > 0
    if (recorded) await appendHistory(this.options.snapshotDir, { mode, spec: this.spec, gate: this.gate(), calls: this.liveCalls() })
    return { counters: this.tape.counters, tapeWritten, tracesWritten, historyWritten: recorded }
  }

  /** The run's live calls, and what all its answers cost when they were made. */
  private liveCalls(): { live: number; usd: number } {
    const stats = [...this.callStats.values()].flatMap((calls) => [calls.student, calls.judge])
    return { live: stats.reduce((sum, item) => sum + item.live, 0), usd: stats.reduce((sum, item) => sum + item.costUsd, 0) }
  }
}

/** What one reply's student calls took. */
type ReplyCost = Pick<TapeCallStats, 'usage' | 'latencyMs'>

/** Adds to each reply what the student's calls took during its steps: the growth of the service's totals. */
function replyMeter(stats: TapeCallStats) {
  const costs: ReplyCost[] = []
  const measure = async <T>(sample: number, run: () => Promise<T>): Promise<T> => {
    const before = { ...stats.usage, latencyMs: stats.latencyMs }
    try {
      return await run()
    } finally {
      const cost = (costs[sample] ??= { usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, latencyMs: 0 })
      cost.usage.promptTokens += stats.usage.promptTokens - before.promptTokens
      cost.usage.completionTokens += stats.usage.completionTokens - before.completionTokens
      cost.usage.totalTokens += stats.usage.totalTokens - before.totalTokens
      cost.latencyMs += stats.latencyMs - before.latencyMs
    }
  }
  return { costs, measure }
}

/** The API keys a spec's run may send: the spec's own models' and the plugin's. None may reach a file. */
export function secretsOf(spec: Pick<SomeLearnSpec, 'student' | 'teacher' | 'judgeModel'>, models: LearnModels): string[] {
  return [...new Set(apiKeysOf([spec.student, spec.teacher, spec.judgeModel, models.student, models.teacher, models.judge]))]
}
