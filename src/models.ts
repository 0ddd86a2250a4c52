import { ai, type AxAIArgs, type AxAIService } from '@ax-llm/ax'
import { LearnError } from './errors.js'
import type { LearnAIArgs, LearnModel, SomeLearnSpec } from './spec.js'
import type { ModelIdentity } from './tape/request.js'

export type ModelRole = 'student' | 'teacher' | 'judge'

export interface ResolvedModel {
  service: AxAIService
  identity: ModelIdentity
  /** Values that must never be written anywhere. */
  secrets: string[]
}

const keylessPlaceholder = 'vitest-learn-no-key'

const isService = (model: LearnModel): model is AxAIService => typeof (model as AxAIService).chat === 'function'

/** A service whose calls fail with a clear message: there is no key to call the model with. */
function withoutKey(service: AxAIService, role: ModelRole, provider: string): AxAIService {
  const error = () =>
    new LearnError(`the ${role} model (${provider}) has no API key, so the missing recording cannot be made`, {
      fix: `set the provider's API key (e.g. OPENAI_APIKEY) in the environment vitest.config.ts reads it from, or point apiURL at a local server such as Ollama`,
    })
  return new Proxy(service, {
    get(target, property) {
      if (property === 'chat' || property === 'embed') return () => Promise.reject(error())
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** Turns `ai()` arguments or a ready service into a live service and the identity recordings are keyed by. */
export function resolveModel(model: LearnModel, role: ModelRole): ResolvedModel {
  if (isService(model)) {
    return { service: model, identity: { provider: model.getName(), model: 'default', config: {} }, secrets: [] }
  }
  const args = model
  const apiKey = typeof args.apiKey === 'string' ? args.apiKey : ''
  const needsKey = 'apiKey' in args || args.name !== 'ollama'
  let service: AxAIService
  try {
    service = ai({ ...args, ...(needsKey && apiKey === '' ? { apiKey: keylessPlaceholder } : {}) } as unknown as AxAIArgs<string>)
  } catch (error) {
    throw new LearnError(`the ${role} model settings are invalid: ${(error as Error).message}`, {
      field: role,
      fix: 'pass ai() arguments such as { name: \'openai\', apiKey: process.env.OPENAI_APIKEY, config: { model: \'gpt-4o-mini\' } }',
    })
  }
  if (needsKey && apiKey === '') service = withoutKey(service, role, args.name)
  const { model: modelName, ...config } = args.config ?? {}
  return {
    service,
    identity: { provider: args.name, model: typeof modelName === 'string' ? modelName : 'default', config },
    secrets: apiKey ? [apiKey] : [],
  }
}

/** Models configured for the whole project (the plugin's options); a spec may override each. */
export interface LearnModels {
  student?: LearnModel
  teacher?: LearnModel
  judge?: LearnModel
}

/** A role's model: the spec's own, else the project's; the judge falls back to the teacher, then the student. */
export function chooseModel(spec: SomeLearnSpec, models: LearnModels, role: ModelRole): LearnModel | undefined {
  const choices: Record<ModelRole, (LearnModel | undefined)[]> = {
    student: [spec.student, models.student],
    teacher: [spec.teacher, models.teacher],
    judge: [spec.judgeModel, models.judge, spec.teacher, models.teacher, spec.student, models.student],
  }
  return choices[role].find((choice) => choice !== undefined)
}
