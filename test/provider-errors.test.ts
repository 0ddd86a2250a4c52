import { inspect } from 'node:util'
import { closedPort } from './support/closed-port.js'
import { ax, type AxAIService } from '@ax-llm/ax'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { causeOfType, LearnError } from '../src/errors.js'
import { chooseModel, ProviderError, resolveModel, type RetrySettings } from '../src/models/index.js'
import type { LearnAIArgs, SomeLearnSpec } from '../src/spec.js'
import { startModelServer, type ModelServer } from './support/model-server.js'

// Every call goes through ax's real `openai` provider and forward(), against the scripted server.
// Timings are small so failures come fast; tests assert request counts and messages, and time
// only as the test timeout: a call that fails with totalTimeoutMs 2 s must not take 30 s.
const apiKey = 'sk-provider-test-secret-0123456789'
const quick: RetrySettings = { maxAttempts: 20, totalTimeoutMs: 2_000, attemptTimeoutMs: 1_000 }
const timeout = 30_000

let server: ModelServer

const args = (retry: RetrySettings = quick, apiURL = server.url): LearnAIArgs => ({
  name: 'openai',
  apiKey,
  apiURL,
  config: { model: 'gpt-4o-mini' },
  retry,
})
const student = (retry?: RetrySettings, apiURL?: string) => resolveModel(args(retry, apiURL), 'student').service
const ask = (service: AxAIService) =>
  ax('customer_query:string -> polite_reply:string').forward(service, { customer_query: 'Where is my order?' }, { stream: false })

/** The ProviderError a call failed with; forward() wraps it, keeping it as the cause. */
async function failureOf(call: Promise<unknown>): Promise<ProviderError> {
  const error = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  )
  const failure = causeOfType(error, ProviderError)
  if (!failure) throw new Error(`expected a ProviderError, got ${String(error)}`)
  return failure
}

beforeAll(async () => {
  server = await startModelServer()
})
afterAll(async () => {
  await server.close()
})
beforeEach(() => server.reset())

describe('fails fast on 4xx', () => {
  it('401: one request, naming the role, provider, URL and status, with the key variable as fix', async () => {
    server.failNext(5, 401)
    const error = await failureOf(ask(student()))
    expect(server.requests).toBe(1)
    expect(error.detail).toBe(`the student model (openai gpt-4o-mini at ${server.url}/chat/completions) refused the API key: HTTP 401 Unauthorized (1 attempt in ${error.detail.match(/in ([\d.]+ s)/)?.[1]})`)
    expect(error.fix).toContain('OPENAI_APIKEY')
    expect(error.message).not.toContain(apiKey)
  }, timeout)

  it('401 leaves out the provider text, which may echo the key', async () => {
    server.failNext(1, { status: 401, message: `Incorrect API key provided: ${apiKey.slice(0, 12)}***` })
    const error = await failureOf(ask(student()))
    expect(error.message).not.toContain(apiKey.slice(0, 12))
  }, timeout)

  it('404: one request, naming the model', async () => {
    server.failNext(5, { status: 404, message: 'The model `gpt-4o-mini` does not exist' })
    const error = await failureOf(ask(student()))
    expect(server.requests).toBe(1)
    expect(error.detail).toContain('HTTP 404 Not Found: The model `gpt-4o-mini` does not exist')
    expect(error.fix).toContain("config.model: 'gpt-4o-mini'")
  }, timeout)

  it('400: one request, with the provider’s message', async () => {
    server.failNext(5, { status: 400, message: 'Unsupported parameter: temperature' })
    const error = await failureOf(ask(student()))
    expect(server.requests).toBe(1)
    expect(error.detail).toContain('rejected the request: HTTP 400 Bad Request: Unsupported parameter: temperature')
  }, timeout)
})

describe('retries 429, 5xx and network errors', () => {
  it('429 with Retry-After, then 200: succeeds on the second request', async () => {
    server.failNext(1, { status: 429, retryAfter: '0' })
    const answer = await ask(student())
    expect(typeof answer.polite_reply).toBe('string')
    expect(server.requests).toBe(2)
  }, timeout)

  it('429 without Retry-After, then 200: backs off and succeeds', async () => {
    server.failNext(1, 429)
    await ask(student())
    expect(server.requests).toBe(2)
  }, timeout)

  it('a Retry-After beyond the time a call may take fails at once, saying so', async () => {
    server.failNext(5, { status: 429, retryAfter: '120' })
    const error = await failureOf(ask(student()))
    expect(server.requests).toBe(1)
    expect(error.detail).toContain('is rate limited: HTTP 429 Too Many Requests')
    expect(error.detail).toContain('it asked to retry after 120 s, beyond the 2 s a call may take')
  }, timeout)

  it('500 beyond the total time: fails naming the status and the attempts made', async () => {
    server.failNext(1_000, 500)
    const error = await failureOf(ask(student()))
    expect(server.requests).toBeGreaterThan(1)
    expect(error.detail).toContain(`${server.url}/chat/completions) failed: HTTP 500 Internal Server Error: Scripted failure (HTTP 500)`)
    expect(error.detail).toContain(`(${server.requests} attempts in `)
    expect(error.attempts).toBe(server.requests)
  }, timeout)

  it('stops at maxAttempts, and neither ax nor forward() adds retries of its own', async () => {
    server.failNext(1_000, 503)
    await failureOf(ask(student({ maxAttempts: 3 })))
    expect(server.requests).toBe(3)
    server.reset()
    server.failNext(1_000, 503)
    await failureOf(ask(student({ maxAttempts: 1 })))
    expect(server.requests).toBe(1)
  }, timeout)

  it('connection refused: fails within the total time, naming the URL and asking whether the server runs', async () => {
    const port = await closedPort()
    const apiURL = `http://127.0.0.1:${port}/v1`
    const error = await failureOf(ask(student(quick, apiURL)))
    expect(error.detail).toContain(`(openai gpt-4o-mini at ${apiURL}/chat/completions) is unreachable: connection refused (ECONNREFUSED)`)
    expect(error.attempts).toBeGreaterThan(1)
    expect(error.fix).toContain(`is the server at ${apiURL} running?`)
  }, timeout)

  it('a hung request is abandoned after attemptTimeoutMs and retried', async () => {
    server.failNext(1, 'hang')
    await ask(student({ ...quick, attemptTimeoutMs: 200 }))
    expect(server.requests).toBe(2)
  }, timeout)

  it('a server that never answers fails naming the time a request may take', async () => {
    server.failNext(1_000, 'hang')
    const error = await failureOf(ask(student({ maxAttempts: 2, attemptTimeoutMs: 200, totalTimeoutMs: 10_000 })))
    expect(server.requests).toBe(2)
    expect(error.detail).toContain('gave no answer within 0.2 s, the time a request may take (2 attempts in')
    expect(error.fix).toContain('attemptTimeoutMs')
  }, timeout)

  it('a server that never answers fails within the total time', async () => {
    server.failNext(1_000, 'hang')
    const error = await failureOf(ask(student({ maxAttempts: 1_000, attemptTimeoutMs: 200, totalTimeoutMs: 1_000 })))
    expect(server.requests).toBeGreaterThan(1)
    expect(error.detail).toMatch(/gave no answer (within 0\.2 s, the time a request may take|before the time a call may take ran out) \(\d+ attempts in/)
  }, timeout)

  it('a reset connection is retried; one that always resets fails naming it', async () => {
    server.failNext(1, 'reset')
    await ask(student())
    expect(server.requests).toBe(2)
    server.reset()
    server.failNext(1_000, 'reset')
    const error = await failureOf(ask(student({ ...quick, maxAttempts: 2 })))
    expect(server.requests).toBe(2)
    expect(error.detail).toContain('dropped the connection')
  }, timeout)

  it('a body that is not JSON is retried; one that never is fails naming it', async () => {
    server.failNext(1, 'malformed')
    await ask(student())
    expect(server.requests).toBe(2)
    server.reset()
    server.failNext(1_000, 'malformed')
    const error = await failureOf(ask(student({ ...quick, maxAttempts: 2 })))
    expect(error.detail).toContain('answered with a body that is not JSON')
  }, timeout)
})

describe('messages', () => {
  it('never contain the key, even when the provider echoes it', async () => {
    server.failNext(1, { status: 500, message: `upstream rejected key ${apiKey}` })
    const error = await failureOf(ask(student({ maxAttempts: 1 })))
    expect(error.detail).toContain('upstream rejected key [redacted]')
    expect(error.message).not.toContain(apiKey)
  }, timeout)

  it('hold the key in none of their fields, which loggers print (ax logs whole errors)', async () => {
    for (const fault of [{ status: 401, message: `Incorrect API key provided: ${apiKey}` }, { status: 500, message: `upstream rejected key ${apiKey}` }]) {
      server.failNext(1, fault)
      const error = await failureOf(ask(student({ maxAttempts: 1 })))
      expect(inspect(error, { depth: 10 })).not.toContain(apiKey)
    }
  }, timeout)

  it('are one line, plus the fix, and keep what ax raised as the cause', async () => {
    server.failNext(1, 401)
    const error = await failureOf(ask(student()))
    expect(error.detail).not.toContain('\n')
    expect(error.message.split('\n')).toEqual([error.detail, `  fix: ${error.fix}`])
    expect(error.cause).toBeInstanceOf(Error)
    expect(String(error.cause)).toContain('HTTP 401')
  }, timeout)
})

describe('keys and local servers', () => {
  it('calls a local server (apiURL set) without a key', async () => {
    const service = resolveModel({ name: 'openai', apiKey: undefined, apiURL: server.url, config: { model: 'gpt-4o-mini' } }, 'student').service
    await ask(service)
    expect(server.requests).toBe(1)
  }, timeout)

  it('without apiURL and without a key, keeps the "no API key" error and calls nothing', async () => {
    const service = resolveModel({ name: 'openai', apiKey: undefined, config: { model: 'gpt-4o-mini' } }, 'judge').service
    await expect(service.chat({ chatPrompt: [{ role: 'user', content: 'hi' }] })).rejects.toThrow(
      'the judge model (openai) has no API key, so the missing recording cannot be made',
    )
  })
})

describe('settings', () => {
  const spec = (student?: LearnAIArgs) => ({ student }) as unknown as SomeLearnSpec

  it('the project’s retry applies to every model; a model’s own retry wins', async () => {
    const projectOnly = chooseModel(spec(), { student: args({}), retry: { maxAttempts: 1 } }, 'student')!
    server.failNext(1_000, 500)
    await failureOf(ask(resolveModel(projectOnly, 'student').service))
    expect(server.requests).toBe(1)

    server.reset()
    const own = chooseModel(spec(args({ maxAttempts: 2 })), { retry: { maxAttempts: 1 } }, 'student')!
    server.failNext(1_000, 500)
    await failureOf(ask(resolveModel(own, 'student').service))
    expect(server.requests).toBe(2)
  }, timeout)

  it('rejects a malformed retry setting, naming it', () => {
    expect(() => resolveModel(args({ attemptTimeoutMs: -1 }), 'teacher')).toThrow(LearnError)
    expect(() => resolveModel(args({ attemptTimeoutMs: -1 }), 'teacher')).toThrow('teacher.retry.attemptTimeoutMs: must be a whole number >= 1')
  })
})
