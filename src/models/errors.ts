import { AxAIServiceNetworkError, AxAIServiceTimeoutError } from '@ax-llm/ax'
import { LearnError } from '../errors.js'
import { redact } from '../redact.js'
import { parseRetryAfter } from './retry.js'

/** An HTTP answer other than 2xx, raised by `failingFetch`: ax hands it on with its status and Retry-After intact. */
export class HttpFailure extends Error {
  override name = 'HttpFailure'
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly retryAfterMs: number | undefined,
    /** The provider's own message, shortened. */
    readonly detail: string,
  ) {
    super(`HTTP ${status} ${statusText}`.trim())
  }
}

/**
 * A fetch for ax's `fetch` option that raises every answer other than 2xx as an HttpFailure. ax
 * takes it for a network error and would retry it: use it only with ax's retries off, as
 * RetryingService does.
 */
export function failingFetch(base: typeof fetch | undefined): typeof fetch {
  return async (input, init) => {
    const response = await (base ?? globalThis.fetch)(input, init)
    if (response.ok) return response
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'))
    throw new HttpFailure(response.status, response.statusText, retryAfterMs, await providerMessage(response))
  }
}

async function providerMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => '')
  let message: unknown = text
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown }
    message = (typeof body.error === 'object' ? body.error?.message : body.error) ?? body.message ?? text
  } catch {
    // not JSON: the text itself
  }
  return String(message).replace(/\s+/g, ' ').trim().slice(0, 200)
}

/** What went wrong with one request, when it was the transport's fault and not ax's. */
export type CallFailure =
  | { kind: 'status'; status: number; statusText: string; detail: string; retryAfterMs?: number }
  | { kind: 'network'; code?: string; detail: string }
  /** `call`: the call's time ran out during the request; `attempt`: the request's own limit did. */
  | { kind: 'timeout'; limitMs: number; scope: 'attempt' | 'call' }
  | { kind: 'malformed'; detail: string }

/** Classifies an error ax raised for one request; undefined when it is not a transport failure. */
export function classifyFailure(error: unknown): CallFailure | undefined {
  if (error instanceof AxAIServiceTimeoutError) return { kind: 'timeout', limitMs: Number(error.context.timeoutMs), scope: 'attempt' }
  if (!(error instanceof AxAIServiceNetworkError)) return undefined
  const original = error.originalError
  if (original instanceof HttpFailure) {
    const { status, statusText, detail, retryAfterMs } = original
    return { kind: 'status', status, statusText, detail, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }
  }
  if (original instanceof SyntaxError) return { kind: 'malformed', detail: original.message }
  // fetch() fails with "fetch failed"; the system error with its code is its cause.
  const system = (original.cause instanceof Error ? original.cause : original) as Error & { code?: unknown }
  return { kind: 'network', ...(typeof system.code === 'string' ? { code: system.code } : {}), detail: system.message }
}

/**
 * Worth another request: rate limits, server errors, system network errors (refused, reset...),
 * timeouts, garbled answers. Not: other 4xx, an unknown host, or a request fetch refuses to make.
 */
export function isRetryable(failure: CallFailure): boolean {
  if (failure.kind === 'status') return failure.status === 408 || failure.status === 429 || failure.status >= 500
  if (failure.kind === 'network') return failure.code !== undefined && failure.code !== 'ENOTFOUND'
  return true
}

/** The model a call went to, as errors name it. */
export interface CallSite {
  role: string
  provider: string
  model: string
  /** The `apiURL` configured, if any. */
  apiURL: string | undefined
  /** The provider's default endpoint, when ax knows it. */
  defaultURL: string | undefined
  /** Values no message may contain. */
  secrets: readonly string[]
}

/** A model call that failed for good: the model, the URL, the status or cause, the attempts, and the fix. */
export class ProviderError extends LearnError {
  override name = 'ProviderError'
  constructor(
    message: string,
    fix: string,
    readonly failure: CallFailure,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(message, { fix })
    this.cause = cause
  }
}

export interface CallHistory {
  attempts: number
  elapsedMs: number
  /** Why retrying stopped early, when it was not the attempts or time running out. */
  note?: string
}

export function providerError(failure: CallFailure, site: CallSite, history: CallHistory, error: unknown): ProviderError {
  const url = shownURL(error instanceof Error && 'url' in error && typeof error.url === 'string' ? error.url : (site.apiURL ?? site.defaultURL))
  const { what, fix } = explain(failure, site, site.apiURL ?? site.defaultURL ?? url)
  const model = site.model === 'default' ? site.provider : `${site.provider} ${site.model}`
  const tries = `${history.attempts} ${history.attempts === 1 ? 'attempt' : 'attempts'} in ${seconds(history.elapsedMs)}`
  const message = `the ${site.role} model (${model} at ${url}) ${what} (${tries}${history.note ? `; ${history.note}` : ''})`
  const cause = error instanceof AxAIServiceNetworkError ? error.originalError : error
  const shown = 'detail' in failure ? { ...failure, detail: redact(failure.detail, site.secrets) } : failure
  return new ProviderError(redact(message, site.secrets), redact(fix, site.secrets), shown, history.attempts, redactedCause(cause, site.secrets))
}

/**
 * The cause as a plain Error whose message and stack hold no secret. Its own fields are dropped:
 * they may hold the provider's text (a key it echoed), and loggers such as ax's print them all.
 */
function redactedCause(cause: unknown, secrets: readonly string[]): Error {
  const original = cause instanceof Error ? cause : new Error(String(cause))
  const copy = new Error(redact(original.message, secrets))
  copy.name = original.name
  if (original.stack !== undefined) copy.stack = redact(original.stack, secrets)
  return copy
}

const moreTime = 'learn({ retry: { totalTimeoutMs } })'

function explain(failure: CallFailure, site: CallSite, base: string): { what: string; fix: string } {
  switch (failure.kind) {
    case 'timeout':
      return failure.scope === 'attempt'
        ? {
            what: `gave no answer within ${seconds(failure.limitMs)}, the time a request may take`,
            fix: `a slow model needs more time per request: learn({ retry: { attemptTimeoutMs } }); otherwise check the server at ${base}`,
          }
        : { what: 'gave no answer before the time a call may take ran out', fix: `check the server at ${base}, or allow more time with ${moreTime}` }
    case 'malformed':
      return {
        what: `answered with a body that is not JSON (${failure.detail})`,
        fix: `check that ${base} serves the API of the '${site.provider}' provider`,
      }
    case 'network':
      return explainNetwork(failure, site, base)
    case 'status':
      return explainStatus(failure, site)
  }
}

function explainNetwork({ code, detail }: { code?: string; detail: string }, site: CallSite, base: string): { what: string; fix: string } {
  if (code === 'ECONNREFUSED')
    return { what: 'is unreachable: connection refused (ECONNREFUSED)', fix: `is the server at ${base} running? Start it, or point apiURL at the right address` }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return {
      what: `is unreachable: host not found (${code})`,
      fix: site.apiURL ? `check the host name in apiURL (${site.apiURL})` : `check this machine's network and DNS: it cannot resolve the host of ${base}`,
    }
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')
    return { what: `dropped the connection (${code}: ${detail})`, fix: `check the server at ${base} and its logs, then rerun` }
  return { what: `is unreachable: ${detail}${code ? ` (${code})` : ''}`, fix: `check apiURL, the network and the server at ${base}` }
}

function explainStatus(failure: Extract<CallFailure, { kind: 'status' }>, site: CallSite): { what: string; fix: string } {
  const { status, detail } = failure
  const http = `HTTP ${status} ${failure.statusText}`.trim()
  const withDetail = detail ? `${http}: ${detail}` : http
  if (status === 401 || status === 403)
    // The provider's text is left out: some echo part of the key.
    return {
      what: `refused the API key: ${http}`,
      fix: `check the ${site.role} model's apiKey in vitest.config.ts or the spec (e.g. ${keyVariable(site.provider)} in the environment)`,
    }
  if (status === 404)
    return {
      what: `answered ${withDetail}`,
      fix: `check the model name (config.model${site.model === 'default' ? '' : `: '${site.model}'`}) and that apiURL is the API's base (often ending in /v1)`,
    }
  if (status === 429) return { what: `is rate limited: ${withDetail}`, fix: `wait and rerun, run fewer calls at once, or allow more time with ${moreTime}` }
  if (status === 408 || status >= 500)
    return { what: `failed: ${withDetail}`, fix: `the provider is failing; rerun later, or allow more time with ${moreTime}` }
  return {
    what: `rejected the request: ${withDetail}`,
    fix: `check the ${site.role} model's settings (vitest.config.ts or the spec) against the provider's documentation`,
  }
}

/** The environment variable people usually keep a provider's key in, e.g. OPENAI_APIKEY. */
export const keyVariable = (provider: string): string => `${provider.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_APIKEY`

/** A URL without credentials or query, which may carry secrets. */
function shownURL(url: string | undefined): string {
  if (url === undefined) return "the provider's default endpoint"
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return url
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
