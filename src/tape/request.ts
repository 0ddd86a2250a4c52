import type { AxAIServiceOptions, AxChatRequest } from '@ax-llm/ax'
import { hashOf } from '../hash.js'
import type { LearnTapeRequest } from '../formats/types.generated.js'

/** What is known of a model before any call: enough to key recordings without a network. */
export interface ModelIdentity {
  provider: string
  model: string
  /** The model's config from `ai()` arguments, without the model name. */
  config: Record<string, unknown>
}

const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value ?? null)) as T

/** Everything that shapes the model's answer, as stored in the tape and hashed into its key. */
export function tapeRequest(
  identity: ModelIdentity,
  req: Readonly<AxChatRequest<unknown>>,
  options: Readonly<AxAIServiceOptions> | undefined,
): LearnTapeRequest {
  const modelConfig: Record<string, unknown> = { ...identity.config, ...plain(req.modelConfig ?? {}) }
  if (req.functionCall !== undefined) modelConfig.functionCall = plain(req.functionCall)
  if (req.responseFormat !== undefined) modelConfig.responseFormat = plain(req.responseFormat)
  return {
    provider: identity.provider,
    model: typeof req.model === 'string' ? req.model : identity.model,
    modelConfig,
    messages: plain(req.chatPrompt) as LearnTapeRequest['messages'],
    functions: plain(req.functions ?? []) as LearnTapeRequest['functions'],
    stream: options?.stream ?? req.modelConfig?.stream ?? null,
  }
}

export const requestHash = (request: LearnTapeRequest): string => hashOf(request)

/** Whole answers rather than streamed chunks: smaller tapes that review well, and faster replay. */
export const recordedCallOptions = { stream: false } as const
