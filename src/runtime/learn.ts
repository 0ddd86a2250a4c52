import { randomUUID } from 'node:crypto'
import { access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { AxAIService, AxGen, AxGenOut, AxProgramDemos, AxProgramForwardOptions } from '@ax-llm/ax'
import { LearnError } from '../errors.js'
import { readCurrentCheckpoint } from '../formats/checkpoint-folder.js'
import { fromLearnCheckpoint } from '../formats/checkpoint-mapping.js'
import { snapshotFiles } from '../formats/layout.js'
import type { AxCheckpoint, AxStorage, AxTrace, AxTraceFeedback } from '../storage/types.js'
import { createStorage } from '../storage/url.js'
import { checkName, isPlainObject } from '../storage/validate.js'
import type { AxLearnResult } from './optimize.js'
import { SaveQueue } from './save-queue.js'
import { credentialsOf, redactDeep } from './secrets.js'
import { UsageMeter } from './usage-meter.js'

export interface AxLearnProgress {
  round: number
  totalRounds: number
  score: number
  improvement: number
}

/** The seed's options, plus `judge` (a rubric for the LLM judge), `onError` (storage failures), `checkpoints` and `secrets`. */
export interface AxLearnOptions {
  /** Names the agent in storage: its traces and checkpoints. */
  name: string
  /** A store, or its URL: `memory:`, `file:` (the folder .learn/), `sqlite:./traces.db`, `postgres://…`. */
  storage: AxStorage | string
  /**
   * The plugin's snapshot folder (e.g. `'./snapshots'`): the agent then runs with
   * `<checkpoints>/<name>/checkpoint.json`, the checkpoint the test suite runs with and commits,
   * read-only, instead of the latest one in `storage`. optimize() is then `vitest-learn --optimize`'s job.
   */
  checkpoints?: string
  /** Values never to store, beside the API keys of the services the agent is given (found in the headers ax sends). */
  secrets?: readonly string[]
  /** Writes synthetic data, proposes prompts and judges during optimize(). */
  teacher?: AxAIService
  /** The model optimize() tunes the prompt for; default: the one forward() last ran on. */
  studentAI?: AxAIService
  /** Where optimize() caches model calls, so a repeated run does not pay twice. Default node_modules/.cache/vitest-learn. */
  cacheDir?: string
  /** Log a trace for every forward (default true). */
  enableTracing?: boolean
  /** Added to every trace. */
  metadata?: Record<string, unknown>
  onTrace?: (trace: AxTrace) => void
  /** Called once for the first storage failure (and once if traces are dropped); forward() never fails because of storage. Default: a console warning. */
  onError?: (error: unknown) => void
  /** Traces waiting for a slow store beyond this are dropped, oldest first. Default 1000. */
  maxPendingTraces?: number
  budget?: number
  metric?: (args: { prediction: Record<string, unknown>; example: Record<string, unknown> }) => number | Promise<number>
  /** Rubric for the LLM judge used when optimizing. */
  judge?: string
  /** The seed's name for a judge rubric. */
  criteria?: string
  examples?: Record<string, unknown>[]
  useTraces?: boolean
  generateExamples?: boolean
  synthCount?: number
  validationSplit?: number
  onProgress?: (progress: AxLearnProgress) => void
}

/**
 * An ax program that logs a trace of every call to storage and runs with the latest checkpoint
 * (instruction and demos) from that storage. The checkpoint is applied before the first
 * forward() resolves; traces are saved in the background.
 */
export class AxLearn<IN extends Record<string, unknown> = Record<string, unknown>, OUT extends AxGenOut = AxGenOut> {
  private readonly storage: AxStorage
  private readonly queue: SaveQueue
  private readonly loading: Promise<AxCheckpoint | undefined>
  private checkpoint: AxCheckpoint | undefined
  /** The model settings of the checkpoint applied. */
  private modelConfig: Record<string, unknown> | undefined
  private lastAI: AxAIService | undefined
  private readonly credentials = new WeakMap<AxAIService, Promise<string[]>>()

  constructor(
    private readonly gen: AxGen<IN, OUT>,
    readonly options: AxLearnOptions,
  ) {
    if (typeof options?.name !== 'string' || options.name === '') throw new LearnError('needs a name', { field: 'AxLearn options.name' })
    this.storage = typeof options.storage === 'string' ? createStorage(options.storage) : options.storage
    if (!this.storage || typeof this.storage.save !== 'function' || typeof this.storage.load !== 'function')
      throw new LearnError('needs a storage: an object with save(name, item) and load(name, query), or a URL such as sqlite:./traces.db', { field: 'AxLearn options.storage' })
    if (options.checkpoints !== undefined && (typeof options.checkpoints !== 'string' || options.checkpoints === ''))
      throw new LearnError("must be the plugin's snapshot folder, such as './snapshots'", { field: 'AxLearn options.checkpoints' })
    const onError =
      options.onError ?? ((error: unknown) => console.warn(`[vitest-learn] AxLearn "${options.name}": ${error instanceof Error ? error.message : String(error)}`))
    this.queue = new SaveQueue(this.storage, { onError, ...(options.maxPendingTraces ? { maxPending: options.maxPendingTraces } : {}) })
    this.loading = this.loadCheckpoint(onError)
  }

  private async loadCheckpoint(onError: (error: unknown) => void): Promise<AxCheckpoint | undefined> {
    try {
      const latest = await (this.options.checkpoints === undefined ? this.latestStored() : this.committed(this.options.checkpoints))
      if (latest) this.apply(latest)
      return latest
    } catch (error) {
      const why = 'could not load the latest checkpoint, running the program as it is:'
      onError(
        error instanceof LearnError
          ? new LearnError(`${why} ${error.detail}`, { file: error.file, field: error.field, fix: error.fix })
          : new LearnError(`${why} ${error instanceof Error ? error.message : String(error)}`),
      )
      return undefined
    }
  }

  private async latestStored(): Promise<AxCheckpoint | undefined> {
    const [latest] = (await this.storage.load(this.options.name, { type: 'checkpoint', limit: 1 })) as AxCheckpoint[]
    return latest
  }

  /** snapshots/<name>/checkpoint.json: the one file that says which checkpoint the test suite runs. */
  private async committed(snapshotDir: string): Promise<AxCheckpoint | undefined> {
    const root = resolve(snapshotDir)
    await access(root).catch(() => {
      throw new LearnError('does not exist, so there is no committed checkpoint to run', {
        file: root,
        field: 'AxLearn options.checkpoints',
        fix: "point it at the plugin's snapshot folder (its snapshotDir, by default './snapshots'), shipped with the app",
      })
    })
    const folder = join(root, checkName(this.options.name, 'AxLearn options.name'))
    const checkpoint = await readCurrentCheckpoint(folder)
    if (checkpoint && checkpoint.name !== this.options.name)
      throw new LearnError(`is the checkpoint of "${checkpoint.name}", not of "${this.options.name}"`, {
        file: snapshotFiles(folder).checkpoint,
        field: 'name',
        fix: `give AxLearn the name of the spec whose checkpoint it should run, or move the file back to ${join(root, checkpoint.name)}/`,
      })
    return checkpoint && fromLearnCheckpoint(checkpoint)
  }

  /** The secrets a trace of a call on `ai` must not hold: the caller's, and the service's API keys. */
  private secretsFor(ai: AxAIService): Promise<string[]> {
    let secrets = this.credentials.get(ai)
    if (!secrets) this.credentials.set(ai, (secrets = credentialsOf(ai).then((found) => [...(this.options.secrets ?? []), ...found])))
    return secrets
  }

  /**
   * Puts a checkpoint on the program: its instruction, demos and optimized components (e.g. tool
   * descriptions); its model settings go with every forward() (the caller's own options win).
   */
  apply(checkpoint: AxCheckpoint): void {
    if (checkpoint.instruction) this.gen.setInstruction(checkpoint.instruction)
    if (checkpoint.examples?.length)
      this.gen.setDemos([{ programId: this.gen.getId(), traces: checkpoint.examples } as unknown as AxProgramDemos<IN, OUT>])
    const { componentMap, modelConfig } = checkpoint.metadata ?? {}
    if (isTextMap(componentMap)) this.gen.applyOptimizedComponents(componentMap)
    this.modelConfig = isPlainObject(modelConfig) ? modelConfig : undefined
    this.checkpoint = checkpoint
  }

  private withModelConfig(options: Readonly<AxProgramForwardOptions<string>> | undefined): Readonly<AxProgramForwardOptions<string>> | undefined {
    if (!this.modelConfig) return options
    return { ...options, modelConfig: { ...this.modelConfig, ...options?.modelConfig } } as AxProgramForwardOptions<string>
  }

  /** Resolves once the latest checkpoint (if any) is applied. */
  async ready(): Promise<void> {
    await this.loading
  }

  /** The checkpoint the program runs with, once ready. */
  getCheckpoint(): AxCheckpoint | undefined {
    return this.checkpoint
  }

  /** Like the program's forward(), and logs a trace (also of a failed call, whose error is rethrown), API keys redacted. */
  async forward(ai: AxAIService, values: IN, options?: Readonly<AxProgramForwardOptions<string>>): Promise<OUT> {
    await this.loading
    this.lastAI = ai
    if (this.options.enableTracing === false) return this.gen.forward(ai, values, this.withModelConfig(options))
    const secrets = await this.secretsFor(ai)
    const meter = new UsageMeter(ai)
    const startTime = new Date()
    let output: OUT | undefined
    let failure: unknown
    try {
      output = await this.gen.forward(meter.service, values, this.withModelConfig(options))
      return output
    } catch (error) {
      failure = error
      throw error
    } finally {
      const endTime = new Date()
      const model = meter.model ?? (options?.model !== undefined ? String(options.model) : undefined) ?? stringOrUndefined(ai.getLastUsedChatModel())
      const trace: AxTrace = redactDeep<AxTrace>({
        type: 'trace',
        id: randomUUID(),
        name: this.options.name,
        input: { ...values },
        output: output ? { ...output } : {},
        startTime,
        endTime,
        durationMs: endTime.getTime() - startTime.getTime(),
        ...(model ? { model } : {}),
        ...(meter.usage ? { usage: meter.usage } : {}),
        ...(failure !== undefined ? { error: failure instanceof Error ? failure.message : String(failure) } : {}),
        ...(this.options.metadata || this.checkpoint
          ? { metadata: { ...this.options.metadata, ...(this.checkpoint ? { checkpointVersion: this.checkpoint.version } : {}) } }
          : {}),
      }, secrets)
      this.queue.push(this.options.name, trace)
      this.options.onTrace?.(trace)
    }
  }

  /**
   * Optimizes the prompt as `vitest-learn --optimize` does: the agent's examples, its stored traces
   * (feedback first) and synthetic data from the teacher, GEPA judged by the teacher; a new
   * checkpoint is saved to storage and applied only when it beats the current one by more than noise.
   */
  async optimize(overrides: Partial<Omit<AxLearnOptions, 'name' | 'storage'>> = {}): Promise<AxLearnResult> {
    await this.loading
    await this.flush()
    const options = { ...this.options, ...overrides }
    // The optimizer's modules load on the first optimize(): serving forward() never needs them.
    const { optimizeAgent } = await import('./optimize.js')
    const { checkpoint, summary } = await optimizeAgent({
      gen: this.gen as unknown as AxGen<Record<string, unknown>, AxGenOut>,
      options,
      storage: this.storage,
      current: this.checkpoint,
      student: options.studentAI ?? this.lastAI,
    })
    if (checkpoint) this.apply(checkpoint)
    return summary
  }

  /** Resolves when every trace logged so far is saved. */
  flush(): Promise<void> {
    return this.queue.flush()
  }

  /** Recent traces of this agent, newest first. */
  async getTraces(options: { limit?: number; since?: Date; hasFeedback?: boolean } = {}): Promise<AxTrace[]> {
    await this.flush()
    return (await this.storage.load(this.options.name, { type: 'trace', ...options })) as AxTrace[]
  }

  /** Adds feedback to a logged trace; the stored trace is updated, not duplicated. */
  async addFeedback(traceId: string, feedback: AxTraceFeedback): Promise<void> {
    await this.flush()
    const [trace] = (await this.storage.load(this.options.name, { type: 'trace', id: traceId, limit: 1 })) as AxTrace[]
    if (!trace) throw new LearnError(`no trace with id ${traceId} is stored under "${this.options.name}"`, { field: 'traceId' })
    await this.storage.save(this.options.name, { ...trace, feedback: { ...trace.feedback, ...feedback } })
  }

  getGen(): AxGen<IN, OUT> {
    return this.gen
  }
  getStorage(): AxStorage {
    return this.storage
  }
  getSignature() {
    return this.gen.getSignature()
  }
  getInstruction(): string | undefined {
    return this.gen.getInstruction()
  }
  setInstruction(instruction: string): void {
    this.gen.setInstruction(instruction)
  }
  getUsage() {
    return this.gen.getUsage()
  }
  resetUsage(): void {
    this.gen.resetUsage()
  }
  /** A new agent on a copy of the program, sharing this one's storage and options. */
  clone(): AxLearn<IN, OUT> {
    return new AxLearn(this.gen.clone(), { ...this.options, storage: this.storage })
  }
}

const stringOrUndefined = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)

/** The seed's factory. */
export function learn<IN extends Record<string, unknown>, OUT extends AxGenOut>(gen: AxGen<IN, OUT>, options: AxLearnOptions): AxLearn<IN, OUT> {
  return new AxLearn(gen, options)
}

const isTextMap = (value: unknown): value is Record<string, string> => isPlainObject(value) && Object.values(value).every((text) => typeof text === 'string')
