import { join } from 'node:path'
import type { AxAIService, AxChatRequest, AxModelUsage } from '@ax-llm/ax'
import { ObservedService } from '../observed-service.js'
import { causeOfType, LearnError } from '../errors.js'
import type { LearnUsage } from '../formats/types.generated.js'
import { chooseModel, ProviderError, resolveModel, type LearnModels, type ModelRole, type ResolvedModel } from '../models/index.js'
import type { SomeLearnSpec } from '../spec.js'
import { TapeService } from '../tape/service.js'
import { Tape } from '../tape/tape.js'

/** Raised instead of a live call once the cost cap is reached or the run is interrupted. */
export class CostCapError extends LearnError {}

/** Dollars per million tokens, for models whose price ax does not know. */
export interface ModelPrice {
  promptPerMillion: number
  completionPerMillion: number
}

export interface CostCaps {
  /** Stop after this many tokens of live calls (prompt + completion). */
  maxTokens?: number
  /** Stop after this many estimated dollars of live calls. */
  maxUsd?: number
  /** Once aborted, every service refuses new live calls (cached answers still replay). */
  signal?: AbortSignal
}

/** Live calls in a row that failed for good (each after its retries) before a run stops calling that provider. */
export const providerFailuresToStop = 4

/**
 * Counts what live calls cost and refuses new ones once a cap would be passed, or once the
 * provider failed `providerFailuresToStop` calls in a row: going on would only pay for more failures. Before a call starts,
 * its cost is estimated from its prompt (and the completions seen so far) and reserved until it
 * ends; a call whose estimate would pass the cap, counting what is spent and reserved, is refused.
 * Concurrent calls therefore overshoot a cap by little more than one call's misestimate.
 */
export class CostMeter {
  calls = 0
  usd = 0
  readonly usage: LearnUsage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 }
  private readonly reserved = { tokens: 0, usd: 0 }
  private completions = 0
  /** A call was refused for what it would cost: the cap is as good as reached. */
  private refused = false
  /** The provider's last error, once it failed `providerFailuresToStop` calls in a row. */
  down: ProviderError | undefined
  private failuresInRow = 0

  constructor(
    readonly caps: CostCaps,
    private readonly prices: Readonly<Record<string, ModelPrice>> = {},
  ) {}

  /** The cap is reached: no call can start. */
  get capped(): boolean {
    const { maxTokens, maxUsd } = this.caps
    return (maxTokens !== undefined && this.usage.totalTokens >= maxTokens) || (maxUsd !== undefined && this.usd >= maxUsd)
  }

  get aborted(): boolean {
    return this.caps.signal?.aborted ?? false
  }

  /** No live call may start: the cap is reached (or a call was refused for it), the run was interrupted, or the provider is down. */
  get stopped(): boolean {
    return this.capped || this.refused || this.aborted || this.down !== undefined
  }

  private noteOutcome(error?: unknown): void {
    const failure = error === undefined ? undefined : causeOfType(error, ProviderError)
    this.failuresInRow = failure ? this.failuresInRow + 1 : 0
    if (failure && this.failuresInRow >= providerFailuresToStop) this.down ??= failure
  }

  describe(): string {
    return `${this.usage.totalTokens} tokens, $${this.usd.toFixed(4)}`
  }

  /** The cost of a call's usage: the configured price of its model, else ax's estimate. */
  costOf(live: AxAIService, modelUsage: AxModelUsage): number {
    const price = this.prices[modelUsage.model]
    const tokens = modelUsage.tokens
    if (!price || !tokens) return live.getEstimatedCost(modelUsage)
    return ((tokens.promptTokens ?? 0) * price.promptPerMillion + (tokens.completionTokens ?? 0) * price.completionPerMillion) / 1e6
  }

  /** A call's expected cost: its prompt at about 4 characters a token, and a completion as long as the mean so far. */
  private estimate(live: AxAIService, model: string, req: Readonly<AxChatRequest<unknown>>): { tokens: number; usd: number } {
    const promptTokens = Math.ceil(JSON.stringify(req.chatPrompt ?? []).length / 4)
    const completionTokens = this.completions > 0 ? Math.ceil(this.usage.completionTokens / this.completions) : Math.ceil(promptTokens / 4)
    const usd = this.costOf(live, { ai: live.getName(), model: typeof req.model === 'string' ? req.model : model, tokens: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens } })
    return { tokens: promptTokens + completionTokens, usd }
  }

  private wouldPass(estimate: { tokens: number; usd: number }): boolean {
    const { maxTokens, maxUsd } = this.caps
    return (
      (maxTokens !== undefined && this.usage.totalTokens + this.reserved.tokens + estimate.tokens > maxTokens) ||
      (maxUsd !== undefined && this.usd + this.reserved.usd + estimate.usd > maxUsd)
    )
  }

  private add(live: AxAIService, modelUsage: AxModelUsage | undefined): void {
    const tokens = modelUsage?.tokens
    if (!modelUsage || !tokens) return
    this.usage.promptTokens += tokens.promptTokens ?? 0
    this.usage.completionTokens += tokens.completionTokens ?? 0
    this.usage.totalTokens += tokens.totalTokens ?? 0
    this.usd += this.costOf(live, modelUsage)
    this.completions++
  }

  /** The live service (running `model` unless a request names another), metered, and refusing calls the cap cannot afford (when `enforce`). */
  wrap(live: AxAIService, model: string, enforce: boolean): AxAIService {
    const pending: { tokens: number; usd: number }[] = []
    const release = () => {
      const estimate = pending.shift()
      if (!estimate) return
      this.reserved.tokens -= estimate.tokens
      this.reserved.usd -= estimate.usd
    }
    return new ObservedService(live, {
      before: (req) => {
        if (this.aborted) throw new CostCapError('the run was interrupted')
        if (this.down) throw new CostCapError(`the provider failed ${providerFailuresToStop} calls in a row`)
        const estimate = this.estimate(live, model, req)
        if (enforce && (this.capped || this.wouldPass(estimate))) {
          this.refused = true
          throw new CostCapError(`the cost cap is reached (${this.describe()}, and a call of about ${estimate.tokens} tokens would pass it)`)
        }
        this.calls++
        this.reserved.tokens += estimate.tokens
        this.reserved.usd += estimate.usd
        pending.push(estimate)
      },
      after: (modelUsage, service) => {
        release()
        this.noteOutcome()
        this.add(service, modelUsage)
      },
      failed: (error) => {
        release()
        this.noteOutcome(error)
      },
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
  /** The cache file is <cacheDir>/<spec name>.json, its journal <cacheDir>/journal/optimize-<spec name>.jsonl. */
  cacheDir: string
  caps: CostCaps
  /** Prices of models ax has none for, by model name. */
  prices?: Readonly<Record<string, ModelPrice>>
  /** Call every model live (answers still go into the cache, replacing what it held). */
  noCache?: boolean
  /** The spec's file, for errors. */
  specFile?: string
}

const roles = ['student', 'teacher', 'judge'] as const

/**
 * Every model call of an optimize run: student, teacher and judge, each through a content-addressed
 * cache (a tape at <cacheDir>/<spec>.json, keyed also by the endpoint behind each model) and a cost
 * meter. A repeated or resumed run replays what was paid for; only calls the cache lacks reach the
 * model. `services` refuse live calls once the cost cap is reached (the whole run is capped:
 * synthesis, search and decision); `uncapped` ones never do (re-recording the spec's cases after a
 * win, which the cache mostly answers). Both count towards the cap.
 */
export class OptimizeCalls {
  private flushing: Promise<void> = Promise.resolve()
  private flushedEntries = 0

  private constructor(
    readonly services: OptimizeServices,
    readonly uncapped: OptimizeServices,
    readonly meter: CostMeter,
    /** The models' API keys: never written anywhere. */
    readonly secrets: readonly string[],
    private readonly tape: Tape,
    private readonly tapeServices: readonly TapeService[],
  ) {}

  static async open(options: OpenCallsOptions): Promise<OptimizeCalls> {
    const { spec, models } = options
    const resolved = {} as Record<ModelRole, ResolvedModel>
    for (const role of roles) {
      const model = chooseModel(spec, models, role)
      if (!model)
        throw new LearnError(`optimize needs a ${role} model${role === 'teacher' ? ' (a stronger model than the student, which proposes prompts and labels synthetic cases)' : ''}`, {
          ...(options.specFile ? { file: options.specFile } : {}),
          field: role,
          fix: `add ${role}: { name: 'openai', apiKey: process.env.OPENAI_APIKEY, config: { model: '...' } } to learn() in vitest.config.ts, or to the spec`,
        })
      resolved[role] = resolveModel(model, role)
    }
    const meter = new CostMeter(options.caps, options.prices)
    if (options.caps.maxUsd !== undefined) checkPrices(resolved, meter, options.specFile)
    const path = join(options.cacheDir, `${spec.name}.json`)
    const tape = await Tape.load({
      path,
      spec: spec.name,
      // --no-cache asks every call again; the answers it replaces are the only ones it drops.
      mode: options.noCache ? 'all' : 'new',
      cache: true,
      recordCommand: 'vitest-learn --optimize',
      secrets: Object.values(resolved).flatMap((model) => model.secrets),
      journal: join(options.cacheDir, 'journal', `optimize-${spec.name}.jsonl`),
    }).catch((error: unknown) => {
      if (!(error instanceof LearnError)) throw error
      throw new LearnError(error.detail, { file: path, fix: `delete ${path}: it only caches model calls of optimize runs` })
    })
    const servicesOf = (enforce: boolean): OptimizeServices => {
      const serviceOf = (role: ModelRole) => {
        const { service, identity, endpoint } = resolved[role]
        // Keyed by the endpoint too: the same model name on another server is another model.
        const keyed = endpoint ? { ...identity, config: { ...identity.config, endpoint } } : identity
        return new TapeService(tape, meter.wrap(service, identity.model, enforce), keyed, { caseId: 'optimize', role })
      }
      return { student: serviceOf('student'), teacher: serviceOf('teacher'), judge: serviceOf('judge') }
    }
    const capped = servicesOf(true)
    const uncapped = servicesOf(false)
    const secrets = Object.values(resolved).flatMap((model) => model.secrets)
    return new OptimizeCalls(capped, uncapped, meter, secrets, tape, [...Object.values(capped), ...Object.values(uncapped)] as TapeService[])
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
        const recorded = this.tape.counters.recorded + this.tape.counters.rerecorded
        if (recorded === this.flushedEntries) return
        this.flushedEntries = recorded
        await this.tape.finish(new Set())
      })
    return this.flushing
  }
}

/** A dollar cap needs a price for every model: without one, ax estimates $0 and the cap never bites. */
function checkPrices(resolved: Record<ModelRole, ResolvedModel>, meter: CostMeter, specFile: string | undefined): void {
  const probe = (role: ModelRole): AxModelUsage => ({
    ai: resolved[role].identity.provider,
    model: resolved[role].identity.model,
    tokens: { promptTokens: 1e6, completionTokens: 1e6, totalTokens: 2e6 },
  })
  const unpriced = roles.filter((role) => !(meter.costOf(resolved[role].service, probe(role)) > 0))
  if (unpriced.length === 0) return
  const names = [...new Set(unpriced.map((role) => resolved[role].identity.model))]
  throw new LearnError(`maxUsd cannot be enforced: ax knows no price for ${names.map((name) => `"${name}"`).join(', ')} (${unpriced.join(', ')})`, {
    ...(specFile ? { file: specFile } : {}),
    field: 'optimize.maxUsd',
    fix: `give its price in learn({ optimize: { prices: { ${JSON.stringify(names[0])}: { promptPerMillion: 0.15, completionPerMillion: 0.6 } } } }), or cap with maxTokens instead`,
  })
}
