import type { AxAIService, AxAIServiceOptions, AxChatRequest, AxChatResponse, AxModelUsage } from '@ax-llm/ax'
import { DelegatingAIService } from '../delegating-service.js'
import type { LearnTapeEntry, LearnTapeResponse, LearnUsage } from '../formats/types.generated.js'
import { responseUsage } from '../formats/tape-file.js'
import type { ModelIdentity } from './request.js'
import { requestHash, tapeRequest } from './request.js'
import type { Tape, TapeRole } from './tape.js'

export { usageOf } from '../formats/tape-file.js'

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

const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

function streamOf(chunks: readonly AxChatResponse[]): ReadableStream<AxChatResponse> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(plain(chunk))
      controller.close()
    },
  })
}

/** An ax service that answers from the tape and calls the live service only for what is missing (or for everything under -u). */
export class TapeService extends DelegatingAIService {
  readonly stats: TapeCallStats = {
    live: 0,
    replayed: 0,
    usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
    costUsd: 0,
    latencyMs: 0,
  }

  constructor(
    private readonly tape: Tape,
    live: AxAIService,
    private readonly identity: ModelIdentity,
    private readonly context: TapeCallContext,
  ) {
    super(live)
  }

  private count(entry: Pick<LearnTapeEntry, 'usage' | 'costUsd' | 'latencyMs'>, live: boolean): void {
    if (live) this.stats.live++
    else this.stats.replayed++
    this.stats.usage.promptTokens += entry.usage?.promptTokens ?? 0
    this.stats.usage.completionTokens += entry.usage?.completionTokens ?? 0
    this.stats.usage.totalTokens += entry.usage?.totalTokens ?? 0
    this.stats.costUsd += entry.costUsd ?? 0
    this.stats.latencyMs += entry.latencyMs
  }

  override async chat(
    req: Readonly<AxChatRequest<unknown>>,
    options?: Readonly<AxAIServiceOptions>,
  ): Promise<AxChatResponse | ReadableStream<AxChatResponse>> {
    const { key, entry } = this.tape.lookup(requestHash(this.identity, req, options))
    if (entry) {
      this.count(entry, false)
      const response = entry.response
      return response.kind === 'chat' ? plain(response.chat as unknown as AxChatResponse) : streamOf(response.chunks as unknown as AxChatResponse[])
    }
    const request = tapeRequest(this.identity, req, options)
    if (this.tape.mode === 'none') throw this.tape.miss(key, request, this.context.caseId, this.context.role)

    const started = performance.now()
    const answer = await this.live.chat(req as AxChatRequest, options)
    const finish = (response: LearnTapeResponse, modelUsage: AxModelUsage | undefined) => {
      // An answer with no result (e.g. `choices: []`) fails in ax; replaying it would fail forever.
      if ((response.kind === 'chat' ? response.chat.results : response.chunks).length === 0) return
      const usage = responseUsage(response)
      const recorded: LearnTapeEntry = {
        key,
        case: this.context.caseId,
        role: this.context.role,
        request,
        response,
        ...(usage ? { usage } : {}),
        costUsd: modelUsage ? this.live.getEstimatedCost(modelUsage) : 0,
        latencyMs: Math.round(performance.now() - started),
        recorded: new Date().toISOString(),
      }
      this.tape.record(recorded)
      this.count(recorded, true)
    }
    if (!(answer instanceof ReadableStream)) {
      finish({ kind: 'chat', chat: plain(answer) as unknown as Extract<LearnTapeResponse, { kind: 'chat' }>['chat'] }, answer.modelUsage)
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
          finish({ kind: 'stream', chunks: chunks as unknown as Record<string, unknown>[] }, usage)
        },
      }),
    )
  }
}
