import { ai, axAIProviderAliases, axAIProviderProfiles, type AxAIArgs, type AxAIService, type AxAIServiceOptions } from '@ax-llm/ax'
import { LearnError } from '../errors.js'
import type { LearnAIArgs, LearnModel, SomeLearnSpec } from '../spec.js'
import type { ModelIdentity } from '../tape/request.js'
import { failingFetch, keyVariable, type CallSite } from './errors.js'
import { retrySettings, retrySettingsProblem, type RetrySettings } from './retry.js'
import { RetryingService } from './service.js'

export type ModelRole = 'student' | 'teacher' | 'judge'

export interface ResolvedModel {
  service: AxAIService
  identity: ModelIdentity
  /** Values that must never be written anywhere. */
  secrets: string[]
  /** Where calls go (apiURL, else the provider's default): what stands behind the model's name. */
  endpoint?: string
}

/** Sent to a local server (`apiURL` set, or a provider that needs no key) when no key is configured. */
const keylessPlaceholder = 'vitest-learn-no-key'

const isService = (model: LearnModel): model is AxAIService => typeof (model as AxAIService).chat === 'function'

/** ax's profile of a provider: its default endpoint, and whether it needs a key. */
function profileOf(name: string) {
  const id = (axAIProviderAliases as Record<string, keyof typeof axAIProviderProfiles | undefined>)[name]
  return id === undefined ? undefined : axAIProviderProfiles[id]
}

/** A service whose calls fail with a clear message: there is no key to call the model with. */
function withoutKey(service: AxAIService, role: ModelRole, provider: string): AxAIService {
  const error = () =>
    new LearnError(`the ${role} model (${provider}) has no API key, so the missing recording cannot be made`, {
      fix: `set the provider's API key (e.g. ${keyVariable(provider)}) in the environment vitest.config.ts reads it from, or point apiURL at a local server such as Ollama`,
    })
  return new Proxy(service, {
    get(target, property) {
      if (property === 'chat' || property === 'embed') return () => Promise.reject(error())
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * Turns `ai()` arguments or a ready service into a live service and the identity recordings are
 * keyed by. Services built from arguments retry and explain their failures (see RetryingService);
 * a ready service is used as it is.
 */
export function resolveModel(model: LearnModel, role: ModelRole): ResolvedModel {
  if (isService(model)) {
    return { service: model, identity: { provider: model.getName(), model: 'default', config: {} }, secrets: [] }
  }
  const { retry, ...args } = model
  const problem = retry === undefined ? undefined : retrySettingsProblem(retry)
  if (problem) throw new LearnError(problem.message, { field: [role, 'retry', problem.setting].filter(Boolean).join('.') })
  const apiKey = typeof args.apiKey === 'string' ? args.apiKey : ''
  const hasKey = apiKey !== '' || typeof args.apiKey === 'function'
  const apiURL = typeof args.apiURL === 'string' && args.apiURL !== '' ? args.apiURL : undefined
  const profile = profileOf(args.name)
  const options = (args.options ?? {}) as AxAIServiceOptions
  let service: AxAIService
  try {
    service = ai({
      ...args,
      ...(hasKey ? {} : { apiKey: keylessPlaceholder }),
      options: { ...options, fetch: failingFetch(options.fetch) },
    } as unknown as AxAIArgs<string>)
  } catch (error) {
    throw new LearnError(`the ${role} model settings are invalid: ${(error as Error).message}`, {
      field: role,
      fix: 'pass ai() arguments such as { name: \'openai\', apiKey: process.env.OPENAI_APIKEY, config: { model: \'gpt-4o-mini\' } }',
    })
  }
  const { model: modelName, ...config } = args.config ?? {}
  const identity: ModelIdentity = { provider: args.name, model: typeof modelName === 'string' ? modelName : 'default', config }
  const secrets = apiKey ? [apiKey] : []
  const endpoint = apiURL ?? profile?.baseURL ?? undefined
  const where = endpoint ? { endpoint } : {}
  if (!hasKey && apiURL === undefined && profile?.auth.required !== false) {
    return { service: withoutKey(service, role, args.name), identity, secrets, ...where }
  }
  const site: CallSite = { role, provider: args.name, model: identity.model, apiURL, defaultURL: profile?.baseURL ?? undefined, secrets }
  return { service: new RetryingService(service, site, retrySettings(retry as RetrySettings | undefined)), identity, secrets, ...where }
}

/** Models configured for the whole project (the plugin's options); a spec may override each. */
export interface LearnModels {
  student?: LearnModel
  teacher?: LearnModel
  judge?: LearnModel
  /** How calls of models given as `ai()` arguments are retried; a model's own `retry` wins. */
  retry?: RetrySettings
}

/** A role's model: the spec's own, else the project's; the judge falls back to the teacher, then the student. */
export function chooseModel(spec: SomeLearnSpec, models: LearnModels, role: ModelRole): LearnModel | undefined {
  const choices: Record<ModelRole, (LearnModel | undefined)[]> = {
    student: [spec.student, models.student],
    teacher: [spec.teacher, models.teacher],
    judge: [spec.judgeModel, models.judge, spec.teacher, models.teacher, spec.student, models.student],
  }
  const choice = choices[role].find((model) => model !== undefined)
  if (choice === undefined || isService(choice) || models.retry === undefined) return choice
  return withProjectRetry(choice, models.retry)
}

function withProjectRetry(args: LearnAIArgs, retry: RetrySettings): LearnAIArgs {
  const own = args.retry
  // A malformed setting of the model's own is left for resolveModel to report.
  if (own !== undefined && (typeof own !== 'object' || own === null)) return args
  return { ...args, retry: { ...retry, ...own } }
}
