import type { AxAIService, AxModelUsage } from '@ax-llm/ax'
import type { LearnUsage } from '../formats/types.generated.js'
import { ObservedService } from '../observed-service.js'
import { usageOf } from '../tape/service.js'

/** Adds up the token usage and the model of the calls made through `service`. */
export class UsageMeter {
  usage: LearnUsage | undefined
  model: string | undefined
  readonly service: AxAIService

  constructor(live: AxAIService) {
    this.service = new ObservedService(live, { after: (modelUsage) => this.add(modelUsage) })
  }

  private add(modelUsage: AxModelUsage | undefined): void {
    const usage = usageOf(modelUsage)
    if (modelUsage?.model) this.model = modelUsage.model
    if (!usage) return
    const total = (this.usage ??= { promptTokens: 0, completionTokens: 0, totalTokens: 0 })
    total.promptTokens += usage.promptTokens
    total.completionTokens += usage.completionTokens
    total.totalTokens += usage.totalTokens
  }
}
