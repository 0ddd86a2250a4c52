import type { AxAIService, AxAIServiceOptions, AxChatRequest, AxChatResponse, AxModelUsage } from '@ax-llm/ax'
import { DelegatingAIService } from './delegating-service.js'

export interface CallObserver {
  /** Runs before each chat call with its request; throwing refuses the call. */
  before?(req: Readonly<AxChatRequest<unknown>>): void
  /** Runs with the answer's usage once it is complete (at the end of a stream). */
  after(modelUsage: AxModelUsage | undefined, live: AxAIService): void
  /** Runs instead of `after` when the call fails. */
  failed?(error: unknown): void
}

/** Passes every call through, telling an observer about each chat call and the usage it returned. */
export class ObservedService extends DelegatingAIService {
  constructor(
    live: AxAIService,
    private readonly observer: CallObserver,
  ) {
    super(live)
  }

  override async chat(req: Readonly<AxChatRequest<unknown>>, options?: Readonly<AxAIServiceOptions>) {
    this.observer.before?.(req)
    let answer: Awaited<ReturnType<AxAIService['chat']>>
    try {
      answer = await this.live.chat(req as AxChatRequest, options)
    } catch (error) {
      this.observer.failed?.(error)
      throw error
    }
    if (!(answer instanceof ReadableStream)) {
      this.observer.after(answer.modelUsage, this.live)
      return answer
    }
    let last: AxModelUsage | undefined
    return answer.pipeThrough(
      new TransformStream<AxChatResponse, AxChatResponse>({
        transform(chunk, controller) {
          if (chunk.modelUsage) last = chunk.modelUsage
          controller.enqueue(chunk)
        },
        flush: () => this.observer.after(last, this.live),
      }),
    )
  }
}
