import type { AxAIServiceOptions, AxChatRequest } from '@ax-llm/ax'
import { hashText, stableStringify } from '../hash.js'
import { redact } from '../redact.js'
import type { LearnTapeRequest } from '../formats/types.generated.js'

/** What is known of a model before any call: enough to key recordings without a network. */
export interface ModelIdentity {
  provider: string
  model: string
  /** The model's config from `ai()` arguments, without the model name. */
  config: Record<string, unknown>
}

type Call = [identity: ModelIdentity, req: Readonly<AxChatRequest<unknown>>, options: Readonly<AxAIServiceOptions> | undefined]

/** Values JSON leaves out of an object: they must not override the identity's config either. */
const omitted = (value: unknown) => value === undefined || typeof value === 'function' || typeof value === 'symbol'

/**
 * Everything that shapes the model's answer, as stored in the tape and hashed into its key. Built
 * over ax's own objects, not copies: hashing serializes it once; only a call that is recorded or
 * missing needs it as plain data (`tapeRequest`).
 */
function requestOf(...[identity, req, options]: Call): LearnTapeRequest {
  const modelConfig: Record<string, unknown> = { ...identity.config }
  for (const [name, value] of Object.entries(req.modelConfig ?? {})) if (!omitted(value)) modelConfig[name] = value
  if (req.functionCall !== undefined) modelConfig.functionCall = req.functionCall
  if (req.responseFormat !== undefined) modelConfig.responseFormat = req.responseFormat
  return {
    provider: identity.provider,
    model: typeof req.model === 'string' ? req.model : identity.model,
    modelConfig,
    messages: req.chatPrompt as unknown as LearnTapeRequest['messages'],
    functions: (req.functions ?? []) as unknown as LearnTapeRequest['functions'],
    stream: options?.stream ?? req.modelConfig?.stream ?? null,
  }
}

/**
 * The request's hash, the first part of its tape key: one canonical serialization, hashed once.
 * Hashed with `secrets` redacted, as the tape stores it: a prompt that quotes a key (an answer
 * repeating it, fed to the judge) is keyed alike when recorded and when replayed redacted.
 */
export const requestHash = (secrets: readonly string[], ...call: Call): string => hashText(redact(stableStringify(requestOf(...call)), secrets))

/** The request as plain data, for a recording or an explanation of a miss; it hashes as `requestHash` does. */
export const tapeRequest = (...call: Call): LearnTapeRequest => JSON.parse(JSON.stringify(requestOf(...call))) as LearnTapeRequest

/** Whole answers rather than streamed chunks: smaller tapes that review well, and faster replay. */
export const recordedCallOptions = { stream: false } as const
