import { randomUUID } from 'node:crypto'
import type { AxAIService, AxGen, AxGenOut, AxProgramDemos, AxProgramForwardOptions } from '@ax-llm/ax'
import { LearnError } from '../errors.js'
import type { AxCheckpoint, AxStorage, AxTrace, AxTraceFeedback } from '../storage/types.js'
import { createStorage } from '../storage/url.js'
import { optimizeAgent, type AxLearnResult } from './optimize.js'
import { SaveQueue } from './save-queue.js'
import { UsageMeter } from './usage-meter.js'

export interface AxLearnProgress {
  round: number
  totalRounds: number
  score: number
  improvement: number
}

/** The seed's options, plus `judge` (a rubric for the LLM judge) and `onError` (storage failures). */
export interface AxLearnOptions {
  /** Names the agent in storage: its traces and checkpoints. */
  name: string
  /** A store, or its URL: `memory:`, `file:./snapshots`, `sqlite:./traces.db`, `postgres://…`. */
  storage: AxStorage | string
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
  private lastAI: AxAIService | undefined

  constructor(
    private readonly gen: AxGen<IN, OUT>,
    readonly options: AxLearnOptions,
  ) {
    if (typeof options?.name !== 'string' || options.name === '') throw new LearnError('needs a name', { field: 'AxLearn options.name' })
    this.storage = typeof options.storage === 'string' ? createStorage(options.storage) : options.storage
    if (!this.storage || typeof this.storage.save !== 'function' || typeof this.storage.load !== 'function')
      throw new LearnError('needs a storage: an object with save(name, item) and load(name, query), or a URL such as sqlite:./traces.db', { field: 'AxLearn options.storage' })
    const onError =
      options.onError ?? ((error: unknown) => console.warn(`[vitest-learn] AxLearn "${options.name}": ${error instanceof Error ? error.message : String(error)}`))
    this.queue = new SaveQueue(this.storage, { onError, ...(options.maxPendingTraces ? { maxPending: options.maxPendingTraces } : {}) })
    this.loading = this.loadCheckpoint(onError)
  }

  private async loadCheckpoint(onError: (error: unknown) => void): Promise<AxCheckpoint | undefined> {
    try {
      const [latest] = (await this.storage.load(this.options.name, { type: 'checkpoint', limit: 1 })) as AxCheckpoint[]
      if (latest) this.apply(latest)
      return latest
    } catch (error) {
      onError(new LearnError(`could not load the latest checkpoint, running the program as it is: ${error instanceof Error ? error.message : String(error)}`))
      return undefined
    }
  }

  /** Puts a checkpoint's instruction and demos on the program. */
  apply(checkpoint: AxCheckpoint): void {
    if (checkpoint.instruction) this.gen.setInstruction(checkpoint.instruction)
    if (checkpoint.examples?.length)
      this.gen.setDemos([{ programId: this.gen.getId(), traces: checkpoint.examples } as unknown as AxProgramDemos<IN, OUT>])
    this.checkpoint = checkpoint
  }

  /** Resolves once the latest checkpoint (if any) is applied. */
  async ready(): Promise<void> {
    await this.loading
  }

  /** The checkpoint the program runs with, once ready. */
  getCheckpoint(): AxCheckpoint | undefined {
    return this.checkpoint
  }

  /** Like the program's forward(), and logs a trace (also of a failed call, whose error is rethrown). */
  async forward(ai: AxAIService, values: IN, options?: Readonly<AxProgramForwardOptions<string>>): Promise<OUT> {
    await this.loading
    this.lastAI = ai
    if (this.options.enableTracing === false) return this.gen.forward(ai, values, options)
    const meter = new UsageMeter(ai)
    const startTime = new Date()
    let output: OUT | undefined
    let failure: unknown
    try {
      output = await this.gen.forward(meter.service, values, options)
      return output
    } catch (error) {
      failure = error
      throw error
    } finally {
      const endTime = new Date()
      const model = meter.model ?? (options?.model !== undefined ? String(options.model) : undefined) ?? stringOrUndefined(ai.getLastUsedChatModel())
      const trace: AxTrace = {
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
      }
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
