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

/** Options of each live service, read once: building them costs more than a replayed call. */
const optionsCache = new WeakMap<AxAIService, Readonly<AxAIServiceOptions>>()
/** Features per model of each live service, which ax asks for several times a call. */
const featuresCache = new WeakMap<AxAIService, Map<unknown, ReturnType<AxAIService['getFeatures']>>>()

/**
 * An ax service that passes everything to another one; subclasses override `chat`. It leaves out
 * `resolveChatService` and `openChatSession`, so ax cannot route around the wrapper.
 */
export abstract class DelegatingAIService implements AxAIService {
  constructor(protected readonly live: AxAIService) {}

  abstract chat(
    req: Readonly<AxChatRequest<unknown>>,
    options?: Readonly<AxAIServiceOptions>,
  ): Promise<AxChatResponse | ReadableStream<AxChatResponse>>

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
    let byModel = featuresCache.get(this.live)
    if (!byModel) featuresCache.set(this.live, (byModel = new Map()))
    let features = byModel.get(model)
    if (!features) byModel.set(model, (features = this.live.getFeatures(model)))
    return features
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
  getOptions() {
    let options = optionsCache.get(this.live)
    if (!options) optionsCache.set(this.live, (options = this.live.getOptions()))
    return options
  }
}
