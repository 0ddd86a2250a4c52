import { setTimeout as sleep } from 'node:timers/promises'
import type { AxAIService, AxAIServiceOptions, AxChatRequest, AxEmbedRequest } from '@ax-llm/ax'
import { DelegatingAIService } from '../delegating-service.js'
import { classifyFailure, isRetryable, providerError, type CallFailure, type CallSite } from './errors.js'
import { retryDelay, type RetrySettings } from './retry.js'

/** ax's own HTTP retries, off: this service retries instead, within its time limit. */
const noAxRetries = { maxRetries: 0 } as const

/**
 * A live ax service whose calls retry what may pass (429, 5xx, dropped connections, timeouts) with
 * backoff, within a time limit per call, and fail at once on other 4xx. A call that fails for good
 * throws a ProviderError naming the model, the URL, the status or cause and the fix. forward()
 * retries 5xx, network and timeout errors again on its own; a ProviderError is none of those, so
 * retries never multiply.
 */
export class RetryingService extends DelegatingAIService {
  constructor(
    live: AxAIService,
    private readonly site: CallSite,
    private readonly settings: Required<RetrySettings>,
  ) {
    super(live)
  }

  override chat(req: Readonly<AxChatRequest<unknown>>, options?: Readonly<AxAIServiceOptions>) {
    return this.call((abortSignal) => this.live.chat(req as AxChatRequest, { ...options, retry: noAxRetries, abortSignal }), options?.abortSignal)
  }

  override embed(req: Readonly<AxEmbedRequest<unknown>>, options?: Readonly<AxAIServiceOptions>) {
    return this.call((abortSignal) => this.live.embed(req as AxEmbedRequest, { ...options, retry: noAxRetries, abortSignal }), options?.abortSignal)
  }

  private async call<T>(request: (signal: AbortSignal) => Promise<T>, caller: AbortSignal | undefined): Promise<T> {
    const { maxAttempts, totalTimeoutMs, attemptTimeoutMs } = this.settings
    const started = Date.now()
    for (let attempts = 1; ; attempts++) {
      const remainingMs = totalTimeoutMs - (Date.now() - started)
      const limitMs = Math.max(1, Math.min(attemptTimeoutMs, remainingMs))
      const timer = new AbortController()
      const timeout = setTimeout(() => timer.abort(), limitMs)
      try {
        return await request(caller ? AbortSignal.any([caller, timer.signal]) : timer.signal)
      } catch (error) {
        if (caller?.aborted) throw error
        const failure: CallFailure | undefined = timer.signal.aborted
          ? { kind: 'timeout', limitMs, scope: attemptTimeoutMs <= remainingMs ? 'attempt' : 'call' }
          : classifyFailure(error)
        if (failure === undefined) throw error
        const elapsedMs = Date.now() - started
        const retryAfterMs = failure.kind === 'status' ? failure.retryAfterMs : undefined
        const wait = isRetryable(failure) && attempts < maxAttempts ? retryDelay(attempts, retryAfterMs) : undefined
        if (wait === undefined || elapsedMs + wait >= totalTimeoutMs) {
          const note =
            wait !== undefined && retryAfterMs !== undefined
              ? `it asked to retry after ${Math.ceil(retryAfterMs / 1000)} s, beyond the ${Math.round(totalTimeoutMs / 1000)} s a call may take`
              : undefined
          throw providerError(failure, this.site, { attempts, elapsedMs, ...(note ? { note } : {}) }, error)
        }
        await sleep(wait, undefined, caller ? { signal: caller } : {})
      } finally {
        clearTimeout(timeout)
      }
    }
  }
}
