import { join } from 'node:path'
import type { AxAIService, AxModelUsage } from '@ax-llm/ax'
import { ObservedService } from '../observed-service.js'
import { LearnError } from '../errors.js'
import type { LearnUsage } from '../formats/types.generated.js'
import { chooseModel, resolveModel, type LearnModels, type ModelRole, type ResolvedModel } from '../models/index.js'
import type { SomeLearnSpec } from '../spec.js'
import { TapeService } from '../tape/service.js'
import { Tape } from '../tape/tape.js'

/** Raised instead of a live call once the cost cap is reached or the run is interrupted. */
export class CostCapError extends LearnError {}

export interface CostCaps {
  /** Stop after this many tokens of live calls (prompt + completion). */
  maxTokens?: number
  /** Stop after this many estimated dollars of live calls. */
  maxUsd?: number
  /** Once aborted, every service refuses new live calls (cached answers still replay). */
  signal?: AbortSignal
}

/** Counts what live calls cost; the capped services refuse new calls once a cap is reached. */
export class CostMeter {
  calls = 0
  usd = 0
  readonly usage: LearnUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 }

  constructor(readonly caps: CostCaps) {}

  get capped(): boolean {
    const { maxTokens, maxUsd } = this.caps
    return (maxTokens !== undefined && this.usage.totalTokens >= maxTokens) || (maxUsd !== undefined && this.usd >= maxUsd)
  }

  private add(live: AxAIService, modelUsage: AxModelUsage | undefined): void {
    const tokens = modelUsage?.tokens
    if (!tokens) return
    this.usage.promptTokens += tokens.promptTokens ?? 0
    this.usage.completionTokens += tokens.completionTokens ?? 0
    this.usage.totalTokens += tokens.totalTokens ?? 0
    this.usd += live.getEstimatedCost(modelUsage)
  }

  get aborted(): boolean {
    return this.caps.signal?.aborted ?? false
  }

  /** The live service, metered (and, if `capped`, refusing calls past the cap). */
  wrap(live: AxAIService, capped: boolean): AxAIService {
    return new ObservedService(live, {
      before: () => {
        if (this.aborted) throw new CostCapError('the run was interrupted')
        if (capped && this.capped)
          throw new CostCapError(`the cost cap is reached (${this.usage.totalTokens} tokens, $${this.usd.toFixed(4)})`)
        this.calls++
      },
      after: (modelUsage, service) => this.add(service, modelUsage),
    })
  }
}

export interface OptimizeServices {
  student: AxAIService
  teacher: AxAIService
  judge: AxAIService
}

export interface OpenCallsOptions {
  spec: SomeLearnSpec
  models: LearnModels
  /** The cache file is <cacheDir>/<spec name>.json. */
  cacheDir: string
  caps: CostCaps
  /** The spec's file, for errors. */
  specFile?: string
}


/**
 * Every model call of an optimize run: student, teacher and judge, each through a content-addressed
 * cache (a tape in mode `new` at <cacheDir>/<spec>.json, journaled as answers arrive) and a cost meter. A repeated or resumed run
 * replays what was paid for; only calls the cache lacks reach the model. `capped` services refuse
 * live calls once the cost cap is reached (the search); `uncapped` ones never do (synthesis and the
 * decision, which must finish). Both count towards the cap.
 */
export class OptimizeCalls {
  private flushing: Promise<void> = Promise.resolve()
  private flushedEntries = 0

  private constructor(
    readonly capped: OptimizeServices,
    readonly uncapped: OptimizeServices,
    readonly meter: CostMeter,
    private readonly tape: Tape,
    private readonly tapeServices: readonly TapeService[],
  ) {}

  static async open(options: OpenCallsOptions): Promise<OptimizeCalls> {
    const { spec, models } = options
    const resolved = {} as Record<ModelRole, ResolvedModel>
    for (const role of ['student', 'teacher', 'judge'] as const) {
      const model = chooseModel(spec, models, role)
      if (!model)
        throw new LearnError(`optimize needs a ${role} model${role === 'teacher' ? ' (a stronger model than the student, which proposes prompts and labels synthetic cases)' : ''}`, {
          ...(options.specFile ? { file: options.specFile } : {}),
          field: role,
          fix: `add ${role}: { name: 'openai', apiKey: process.env.OPENAI_APIKEY, config: { model: '...' } } to learn() in vitest.config.ts, or to the spec`,
        })
      resolved[role] = resolveModel(model, role)
    }
    const path = join(options.cacheDir, `${spec.name}.json`)
    const tape = await Tape.load({
      path,
      spec: spec.name,
      mode: 'new',
      recordCommand: 'vitest-learn --optimize',
      secrets: Object.values(resolved).flatMap((model) => model.secrets),
      journal: join(options.cacheDir, `${spec.name}.journal.jsonl`),
    }).catch((error: unknown) => {
      if (!(error instanceof LearnError)) throw error
      throw new LearnError(error.detail, { file: path, fix: `delete ${path}: it only caches model calls of optimize runs` })
    })
    const meter = new CostMeter(options.caps)
    const servicesOf = (capped: boolean): OptimizeServices => {
      const serviceOf = (role: ModelRole) =>
        new TapeService(tape, meter.wrap(resolved[role].service, capped), resolved[role].identity, { caseId: 'optimize', role })
      return { student: serviceOf('student'), teacher: serviceOf('teacher'), judge: serviceOf('judge') }
    }
    const capped = servicesOf(true)
    const uncapped = servicesOf(false)
    const tapeServices = [...Object.values(capped), ...Object.values(uncapped)] as TapeService[]
    return new OptimizeCalls(capped, uncapped, meter, tape, tapeServices)
  }

  /** Calls answered from the cache. */
  get cacheHits(): number {
    return this.tapeServices.reduce((sum, service) => sum + service.stats.replayed, 0)
  }

  /** Writes the cache when calls were added since the last write; writes never overlap. */
  flush(): Promise<void> {
    this.flushing = this.flushing
      .catch(() => undefined)
      .then(async () => {
        const recorded = this.tape.counters.recorded
        if (recorded === this.flushedEntries) return
        this.flushedEntries = recorded
        await this.tape.finish(new Set())
      })
    return this.flushing
  }
}
