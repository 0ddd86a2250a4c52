export { chooseModel, resolveModel, type LearnModels, type ModelRole, type ResolvedModel } from './resolve.js'
export { ProviderError, type CallFailure } from './errors.js'
export { defaultRetrySettings, retrySettingsProblem, type RetrySettings } from './retry.js'
