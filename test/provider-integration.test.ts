import { closedPort } from './support/closed-port.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startModelServer, type ModelServer } from './support/model-server.js'
import { createProject, type TempProject } from './support/project.js'
import { defaultSamples } from '../src/spec.js'

// Real Vitest runs of the built plugin: learn({ retry }) reaches the workers, and a provider that
// fails makes the run fail soon, naming the URL, the cause and the fix.
const apiKey = 'sk-provider-integration-key-0123456789'

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: process.env.TEST_KEY, apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({
  plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o'), retry: { totalTimeoutMs: 2000, attemptTimeoutMs: 1000 } })],
})
`

const spec = `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: 'support',
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: 'Reply politely.',
  cases: [{ input: { customer_query: 'Where is my order?' } }, { input: { customer_query: 'The lamp is broken.' } }],
  judge: 'Polite and gives a next step.',
  threshold: 0.5,
})
`

describe('a project whose provider fails', () => {
  let server: ModelServer
  let project: TempProject

  beforeAll(async () => {
    server = await startModelServer()
    project = await createProject({ 'vitest.config.ts': config, 'support.learn.ts': spec })
  })
  afterAll(async () => {
    await server?.close()
    await project?.remove()
  })

  it('fails on connection refused within the retry time, naming the URL and asking whether the server runs', async () => {
    const apiURL = `http://127.0.0.1:${await closedPort()}/v1`
    const run = await project.vitest(['support.learn.ts'], { env: { TEST_KEY: apiKey, LEARN_API_URL: apiURL } })
    expect(run.code).not.toBe(0)
    expect(run.output).toContain(`the student model (openai gpt-4o-mini at ${apiURL}/chat/completions) is unreachable: connection refused (ECONNREFUSED)`)
    expect(run.output).toContain(`is the server at ${apiURL} running?`)
    expect(run.output).not.toContain(apiKey)
  })

  it('fails on HTTP 401 after one request per case', async () => {
    server.reset()
    server.failNext(100, 401)
    const run = await project.vitest(['support.learn.ts'], { env: { TEST_KEY: apiKey, LEARN_API_URL: server.url } })
    expect(run.code).not.toBe(0)
    expect(server.requests).toBe(2) // each case's student call, once; no judge call follows a failed answer
    expect(run.output).toContain(`at ${server.url}/chat/completions) refused the API key: HTTP 401 Unauthorized (1 attempt in`)
    expect(run.output).toContain('OPENAI_APIKEY')
    expect(run.output).not.toContain(apiKey)
  })

  it('records from a local server (apiURL set) with no key', async () => {
    server.reset()
    const run = await project.vitest(['support.learn.ts', '-u'], { env: { LEARN_API_URL: server.url } })
    expect(run.code, run.output).toBe(0)
    expect(server.requests).toBe(2 * defaultSamples * 2) // 2 cases x the default samples x (student + judge)
  })
})
