import type { AxAIServiceOptions, AxChatRequest, AxChatResponse, AxModelUsage } from '@ax-llm/ax'
import { DelegatingAIService } from '../delegating-service.js'
import type { LearnUsage } from '../formats/types.generated.js'
import { usageOf } from '../tape/service.js'

/** Passes calls through and adds up the token usage and model of what came back. */
export class UsageMeter extends DelegatingAIService {
  usage: LearnUsage | undefined
  model: string | undefined

  private add(modelUsage: AxModelUsage | undefined): void {
    const usage = usageOf(modelUsage)
    if (modelUsage?.model) this.model = modelUsage.model
    if (!usage) return
    const total = (this.usage ??= { promptTokens: 0, completionTokens: 0, totalTokens: 0 })
    total.promptTokens += usage.promptTokens
    total.completionTokens += usage.completionTokens
    total.totalTokens += usage.totalTokens
  }

  override async chat(req: Readonly<AxChatRequest<unknown>>, options?: Readonly<AxAIServiceOptions>) {
    const answer = await this.live.chat(req as AxChatRequest, options)
    if (!(answer instanceof ReadableStream)) {
      this.add(answer.modelUsage)
      return answer
    }
    let last: AxModelUsage | undefined
    return answer.pipeThrough(
      new TransformStream<AxChatResponse, AxChatResponse>({
        transform(chunk, controller) {
          if (chunk.modelUsage) last = chunk.modelUsage
          controller.enqueue(chunk)
        },
        flush: () => this.add(last),
      }),
    )
  }
}
