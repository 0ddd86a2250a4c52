import { join } from 'node:path'
import type { AxAIService } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import { readJsonFile, readJsonLines, toPrettyJson, writeFileAtomic } from './formats/files.js'
import { snapshotFiles } from './formats/layout.js'
import type { LearnCheckpoint, LearnTraceLine } from './formats/types.generated.js'
import { forwardStep } from './forward.js'
import { evaluateGate, type GateResult } from './gate.js'
import { chooseModel, resolveModel, type LearnModels, type ResolvedModel } from './models/index.js'
import { buildProgram, type SomeProgram } from './optimize/program.js'
import { isAgent, toolsOf } from './program/tools.js'
import { specHash } from './optimize/spec-hash.js'
import { judgeHash } from './judge.js'
import { redact } from './redact.js'
import { scoreCase, type CaseScore } from './scoring.js'
import type { SomeLearnCase, SomeLearnSpec } from './spec.js'
import { TapeService, type TapeCallStats } from './tape/service.js'
import { Tape, type TapeCounters, type TapeMode, type TapeRole } from './tape/tape.js'
import { ToolRecorder } from './tool-recorder.js'

export type { LearnModels } from './models/index.js'

export interface SessionOptions {
  spec: SomeLearnSpec
  /** The spec's file, as shown in errors. */
  specFile: string
  /** snapshots/<spec name>/ */
  snapshotDir: string
  mode: TapeMode
  models: LearnModels
  /** The command that records what is missing, e.g. `npx vitest run examples/support.learn.ts`. */
  recordCommand: string
  /** Services to call instead of the configured models for what the tape lacks (e.g. optimize's call cache). */
  live?: Partial<Record<TapeRole, AxAIService>>
  /** Folder outside snapshots/ for the journal of live answers (see TapeOptions.journal). */
  journalDir?: string
}

export interface CaseResult {
  caseId: string
  prediction: Record<string, unknown>
  score: CaseScore
  student: TapeCallStats
  judge: TapeCallStats
}

export interface SessionSummary {
  counters: TapeCounters
  tapeWritten: boolean
  tracesWritten: boolean
}

/**
 * One spec's run: its tape, its program (seed or checkpoint), its models, and the scores of the
 * cases run so far. Knows nothing of Vitest: the plugin drives it one case at a time.
 */
export class SpecSession {
  private readonly results = new Map<string, CaseResult>()
  private readonly failures = new Map<string, string>()
  private readonly models = new Map<TapeRole, ResolvedModel>()
  private readonly traceLines = new Map<string, LearnTraceLine>()
  /** The spec's own hashes, computed once: the spec does not change during a run. */
  private hashes: { spec: string; judge: string } | undefined
  private configuredProgram: SomeProgram | undefined
  private perCase: boolean | undefined
  private readonly callStats = new Map<string, Pick<CaseResult, 'student' | 'judge'>>()

  private constructor(
    readonly options: SessionOptions,
    readonly tape: Tape,
    private current: LearnCheckpoint | undefined,
    private readonly previousTraces: ReadonlyMap<string, LearnTraceLine>,
  ) {}

  static async open(options: SessionOptions): Promise<SpecSession> {
    const files = snapshotFiles(options.snapshotDir)
    const fix = `fix or delete the file, then run ${options.recordCommand}`
    const [tape, checkpoint, traces] = await Promise.all([
      Tape.load({
        path: files.tape,
        spec: options.spec.name,
        mode: options.mode,
        recordCommand: options.recordCommand,
        secrets: collectSecrets(options),
        ...(options.journalDir ? { journal: join(options.journalDir, `${options.spec.name}.jsonl`) } : {}),
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
    return new SpecSession(options, tape, checkpoint, new Map(traces.map((line) => [line.case ?? line.id, line])))
  }

  /** The committed checkpoint the cases run with and are gated against. */
  get checkpoint(): LearnCheckpoint | undefined {
    return this.current
  }

  /** Gates the rest of the run against another checkpoint (one `--accept` just wrote). */
  useBaselineOf(checkpoint: LearnCheckpoint): void {
    this.current = checkpoint
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

  /**
   * The program a case runs: one shared by every case when it has no tools (ax takes about a
   * millisecond to build one); otherwise one of the case's own, whose tools go through `tools`.
   */
  private program(tools: ToolRecorder): SomeProgram {
    const state = { ...this.checkpoint?.program, instruction: this.instruction }
    if (this.programPerCase) return buildProgram(this.spec, state, { wrapTool: tools.wrap })
    return (this.configuredProgram ??= buildProgram(this.spec, state))
  }

  /** A program with tools to record, or an agent (whose runs cannot share an instance). */
  private get programPerCase(): boolean {
    return (this.perCase ??= isAgent(this.spec.program) || toolsOf(this.spec.program).length > 0)
  }

  /** Runs one case on the student, scores it, and keeps the result for the gate and traces.jsonl. */
  async runCase(item: SomeLearnCase): Promise<CaseResult> {
    this.tape.caseStarted(item.id)
    const student = this.service(item.id, 'student')
    const judge = this.service(item.id, 'judge')
    const tools = new ToolRecorder(student, this.spec.liveTools)
    this.callStats.set(item.id, { student: student.stats, judge: judge.stats })
    const startTime = new Date()
    try {
      const modelConfig = this.checkpoint?.program.modelConfig
      const prediction = await this.withTapeErrors(item.id, () =>
        forwardStep(this.program(tools), tools.service, item.input, { ...(modelConfig ? { modelConfig } : {}), ...(item.history ? { history: item.history } : {}) }),
      )
      const score = await this.withTapeErrors(item.id, () => scoreCase(this.spec, item, prediction, () => judge, tools.trajectory))
      const result: CaseResult = { caseId: item.id, prediction, score, student: student.stats, judge: judge.stats }
      this.results.set(item.id, result)
      this.tape.caseSucceeded(item.id)
      if (this.options.mode !== 'none') this.keepTrace(item, result, startTime)
      return result
    } catch (error) {
      this.failures.set(item.id, error instanceof Error ? error.message.split('\n')[0]! : String(error))
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
   * program that got over one (an agent whose code caught a stale tool call's error) fails too.
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

  private keepTrace(item: SomeLearnCase, result: CaseResult, startTime: Date): void {
    const line: LearnTraceLine = {
      type: 'trace',
      id: item.id,
      name: this.spec.name,
      input: item.input,
      output: result.prediction,
      startTime: startTime.toISOString(),
      endTime: new Date(startTime.getTime() + result.student.latencyMs).toISOString(),
      durationMs: result.student.latencyMs,
      model: this.model('student').identity.model,
      usage: result.student.usage,
      case: item.id,
      score: result.score.score,
      reasons: result.score.reasons,
    }
    const previous = this.previousTraces.get(item.id)
    // A replayed case keeps its recorded times, so traces.jsonl changes only when an answer does.
    const unchanged =
      previous &&
      toPrettyJson({ ...previous, startTime: '', endTime: '' }) === toPrettyJson({ ...line, startTime: '', endTime: '' })
    this.traceLines.set(item.id, unchanged ? previous : line)
  }

  /** Scores of the cases run so far. */
  scores(): CaseScore[] {
    return [...this.results.values()].map((result) => result.score)
  }

  gate(): GateResult {
    return evaluateGate({
      threshold: this.spec.threshold,
      cases: this.spec.cases.map((item) => ({ id: item.id, name: item.name })),
      scores: this.scores(),
      failures: this.failures,
      tolerance: this.spec.tolerance,
      ...(this.checkpoint?.baseline ? { baseline: { version: this.checkpoint.version, scores: this.checkpoint.baseline.scores } } : {}),
      ...(this.specEditedSince() ? { editedSince: this.checkpoint!.version } : {}),
      specFile: this.options.specFile,
    })
  }

  /** The spec no longer matches what its checkpoint's baseline was measured on. */
  specEditedSince(): boolean {
    const hashes = this.checkpoint?.hashes
    this.hashes ??= { spec: specHash(this.spec), judge: judgeHash(this.spec.judge, this.spec.judgeTrajectory) }
    return hashes !== undefined && (hashes.spec !== this.hashes.spec || hashes.judge !== this.hashes.judge)
  }

  /** Writes the tape and traces.jsonl when they changed (never in replay-only mode). */
  async close(): Promise<SessionSummary> {
    const specCases = new Set(this.spec.cases.map((item) => item.id))
    const { written: tapeWritten } = await this.tape.finish(specCases)
    let tracesWritten = false
    if (this.options.mode !== 'none' && this.traceLines.size > 0) {
      const lines = this.spec.cases
        .map((item) => this.traceLines.get(item.id) ?? this.previousTraces.get(item.id))
        .filter((line): line is LearnTraceLine => line !== undefined)
      const text = lines.map((line) => JSON.stringify(line)).join('\n') + '\n'
      const before = [...this.previousTraces.values()].map((line) => JSON.stringify(line)).join('\n') + '\n'
      if (text !== before) {
        await writeFileAtomic(snapshotFiles(this.options.snapshotDir).traces, redact(text, this.tape.options.secrets ?? []))
        tracesWritten = true
      }
    }
    return { counters: this.tape.counters, tapeWritten, tracesWritten }
  }
}

function collectSecrets(options: SessionOptions): string[] {
  const { spec, models } = options
  return [spec.student, spec.teacher, spec.judgeModel, models.student, models.teacher, models.judge].flatMap((model) => {
    const key = model && typeof model === 'object' && 'apiKey' in model ? (model as { apiKey?: unknown }).apiKey : undefined
    return typeof key === 'string' ? [key] : []
  })
}
