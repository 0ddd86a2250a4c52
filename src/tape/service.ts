import type {
  AxAIService,
  AxAIServiceOptions,
  AxChatRequest,
  AxChatResponse,
  AxEmbedRequest,
  AxModelUsage,
  AxSpeechRequest,
  AxTranscriptionRequest,
} from '@ax-llm/ax'
import type { LearnTapeEntry, LearnTapeResponse, LearnUsage } from '../formats/types.generated.js'
import type { ModelIdentity } from './request.js'
import { tapeRequest } from './request.js'
import type { Tape, TapeRole } from './tape.js'

export interface TapeCallContext {
  /** The case (or 'optimize') the calls belong to. */
  caseId: string
  role: TapeRole
}

/** The usage and timing of the calls one service answered, recorded or replayed. */
export interface TapeCallStats {
  live: number
  replayed: number
  usage: LearnUsage
  costUsd: number
  latencyMs: number
}

/** Options of each live service, read once: every TapeService of a run shares its live service. */
const optionsCache = new WeakMap<AxAIService, Readonly<AxAIServiceOptions>>()

const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

function usageOf(modelUsage: AxModelUsage | undefined): LearnUsage | undefined {
  const tokens = modelUsage?.tokens
  if (!tokens) return undefined
  return { promptTokens: tokens.promptTokens ?? 0, completionTokens: tokens.completionTokens ?? 0, totalTokens: tokens.totalTokens ?? 0 }
}

function streamOf(chunks: readonly AxChatResponse[]): ReadableStream<AxChatResponse> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(plain(chunk))
      controller.close()
    },
  })
}

/**
 * An ax service that answers from the tape and calls the live service only for what is missing
 * (or for everything under -u). It leaves out `resolveChatService` and `openChatSession`, so ax
 * cannot route around it.
 */
export class TapeService implements AxAIService {
  readonly stats: TapeCallStats = {
    live: 0,
    replayed: 0,
    usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
    costUsd: 0,
    latencyMs: 0,
  }

  constructor(
    private readonly tape: Tape,
    private readonly live: AxAIService,
    private readonly identity: ModelIdentity,
    private readonly context: TapeCallContext,
  ) {}

  private count(entry: Pick<LearnTapeEntry, 'usage' | 'costUsd' | 'latencyMs'>, live: boolean): void {
    if (live) this.stats.live++
    else this.stats.replayed++
    this.stats.usage.promptTokens += entry.usage?.promptTokens ?? 0
    this.stats.usage.completionTokens += entry.usage?.completionTokens ?? 0
    this.stats.usage.totalTokens += entry.usage?.totalTokens ?? 0
    this.stats.costUsd += entry.costUsd ?? 0
    this.stats.latencyMs += entry.latencyMs
  }

  async chat(
    req: Readonly<AxChatRequest<unknown>>,
    options?: Readonly<AxAIServiceOptions>,
  ): Promise<AxChatResponse | ReadableStream<AxChatResponse>> {
    const request = tapeRequest(this.identity, req, options)
    const { key, entry } = this.tape.lookup(request)
    if (entry) {
      this.count(entry, false)
      const response = entry.response
      return response.kind === 'chat' ? plain(response.chat as AxChatResponse) : streamOf(response.chunks as AxChatResponse[])
    }
    if (this.tape.mode === 'none') throw this.tape.miss(key, request, this.context.caseId, this.context.role)

    const started = performance.now()
    const answer = await this.live.chat(req as AxChatRequest, options)
    const finish = (response: LearnTapeResponse, modelUsage: AxModelUsage | undefined) => {
      const usage = usageOf(modelUsage)
      const recorded: LearnTapeEntry = {
        key,
        case: this.context.caseId,
        role: this.context.role,
        request,
        response,
        ...(usage ? { usage } : {}),
        costUsd: modelUsage ? this.live.getEstimatedCost(modelUsage) : 0,
        latencyMs: Math.round(performance.now() - started),
      }
      this.tape.record(recorded)
      this.count(recorded, true)
    }
    if (!(answer instanceof ReadableStream)) {
      finish({ kind: 'chat', chat: plain(answer) }, answer.modelUsage)
      return answer
    }
    const chunks: AxChatResponse[] = []
    return answer.pipeThrough(
      new TransformStream<AxChatResponse, AxChatResponse>({
        transform(chunk, controller) {
          chunks.push(plain(chunk))
          controller.enqueue(chunk)
        },
        flush: () => {
          const usage = [...chunks].reverse().find((chunk) => chunk.modelUsage)?.modelUsage
          finish({ kind: 'stream', chunks }, usage)
        },
      }),
    )
  }

  embed(req: Readonly<AxEmbedRequest<unknown>>, options?: Readonly<AxAIServiceOptions>) {
    return this.live.embed(req as AxEmbedRequest, options)
  }
  transcribe(req: Readonly<AxTranscriptionRequest<unknown>>, options?: Readonly<AxAIServiceOptions>) {
    return this.live.transcribe(req as AxTranscriptionRequest, options)
  }
  speak(req: Readonly<AxSpeechRequest<unknown>>, options?: Readonly<AxAIServiceOptions>) {
    return this.live.speak(req as AxSpeechRequest, options)
  }
  getId() {
    return this.live.getId()
  }
  getName() {
    return this.live.getName()
  }
  getFeatures(model?: unknown) {
    return this.live.getFeatures(model)
  }
  getModelList() {
    return this.live.getModelList()
  }
  getMetrics() {
    return this.live.getMetrics()
  }
  getLogger() {
    return this.live.getLogger()
  }
  getLastUsedChatModel() {
    return this.live.getLastUsedChatModel()
  }
  getLastUsedEmbedModel() {
    return this.live.getLastUsedEmbedModel()
  }
  getLastUsedModelConfig() {
    return this.live.getLastUsedModelConfig()
  }
  getEstimatedCost(modelUsage?: AxModelUsage) {
    return this.live.getEstimatedCost(modelUsage)
  }
  setOptions(options: Readonly<AxAIServiceOptions>) {
    this.live.setOptions(options)
    optionsCache.delete(this.live)
  }
  /** ax asks for these several times per call, and building them costs more than a replay. */
  getOptions() {
    let options = optionsCache.get(this.live)
    if (!options) optionsCache.set(this.live, (options = this.live.getOptions()))
    return options
  }
}
