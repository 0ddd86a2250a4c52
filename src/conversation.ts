import { AxMemory, type AxAIService, type AxAIServiceOptions, type AxChatRequest, type AxChatResponse, type AxGen, type AxGenOut } from '@ax-llm/ax'
import { DelegatingAIService } from './delegating-service.js'
import type { LearnTurn } from './spec.js'

type Turn = LearnTurn<Record<string, unknown>, AxGenOut>

/** ax's answer format for a request: one JSON object when it asked for structured output, else `field: value` lines. */
function answerText(req: Readonly<AxChatRequest<unknown>>, output: AxGenOut): string {
  const format = req.responseFormat?.type
  if (format === 'json_object' || format === 'json_schema') return JSON.stringify(output)
  return Object.entries(output)
    .map(([name, value]) => `${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('\n')
}

/** The assistant's side of an earlier turn, given rather than asked for; every other question goes to the real service. */
class GivenAnswer extends DelegatingAIService {
  constructor(
    live: AxAIService,
    private readonly output: AxGenOut,
  ) {
    super(live)
  }

  override async chat(req: Readonly<AxChatRequest<unknown>>, _options?: Readonly<AxAIServiceOptions>): Promise<AxChatResponse> {
    return { results: [{ index: 0, content: answerText(req, this.output), finishReason: 'stop' }] }
  }
}

/**
 * ax's memory of a conversation's earlier turns, made by the program itself: each user turn is
 * sent and each assistant turn given as its answer, so the last turn's request holds them exactly as
 * a live chat would (ax repeats its system prompt each turn). No model is called: the memory is part
 * of the request that is recorded.
 */
export async function conversationMemory(program: AxGen<Record<string, unknown>, AxGenOut>, service: AxAIService, history: readonly Turn[]): Promise<AxMemory> {
  const mem = new AxMemory()
  for (let index = 0; index + 1 < history.length; index += 2) {
    const [user, assistant] = [history[index]!, history[index + 1]!]
    if (user.role !== 'user' || assistant.role !== 'assistant') continue
    await program.forward(new GivenAnswer(service, assistant.output), user.input, { mem, stream: false })
  }
  return mem
}
