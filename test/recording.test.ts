// Real Vitest runs of a 16-case spec against the scripted server: a failing provider never costs
// a recording, cases run concurrently, and the gate never passes on partial scores.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { readTapeFile } from '../src/formats/tape-file.js'
import { startModelServer, type ModelServer, type ScriptedCall } from './support/model-server.js'
import { createProject, type TempProject } from './support/project.js'

const apiKey = 'sk-recording-test-key-0123456789abcdef'
const queries = Array.from({ length: 16 }, (_, index) => `Question number ${index + 1} about my order?`)

const config = `import { defineConfig } from 'vitest/config'
import learn from 'vitest-learn/plugin'

const model = (name) => ({ name: 'openai', apiKey: process.env.TEST_KEY, apiURL: process.env.LEARN_API_URL, config: { model: name } })
export default defineConfig({ plugins: [learn({ student: model('gpt-4o-mini'), teacher: model('gpt-4o'), retry: { totalTimeoutMs: Number(process.env.CALL_TIME_MS ?? 60000) } })] })
`

const spec = `import { ax } from '@ax-llm/ax'
import { defineLearn } from 'vitest-learn'

export default defineLearn({
  name: 'support',
  program: ax('customer_query:string -> polite_reply:string'),
  instruction: 'Reply politely.',
  cases: ${JSON.stringify(queries.map((query) => ({ input: { customer_query: query } })))},
  judge: 'Polite and gives a next step.',
  threshold: 0.5,
  samples: 1,
})
`

/** The judge rates every reply 0.9; a query containing `brokenQuery` gets an answer ax cannot use. */
let brokenQuery: string | undefined
function script(call: ScriptedCall): Record<string, unknown> {
  if (call.outputs.includes('score')) return { score: 0.9, reasons: 'Polite; next step given.' }
  if (brokenQuery && call.inputs.customer_query === brokenQuery) return {}
  return { polite_reply: `Thank you for writing about "${call.inputs.customer_query}". Reply to this email for help.` }
}

describe('recording 16 cases against a scripted provider', () => {
  let server: ModelServer
  let project: TempProject
  const live = (args: string[] = []) => project.vitest(args, { env: { TEST_KEY: apiKey, LEARN_API_URL: server.url } })
  const tape = () => project.read('snapshots/support/tape.json')
  const traces = () => project.read('snapshots/support/traces.jsonl')

  beforeAll(async () => {
    server = await startModelServer({ script })
    project = await createProject({ 'vitest.config.ts': config, 'support.learn.ts': spec })
  })
  afterAll(async () => {
    await server?.close()
    await project?.remove()
  })
  beforeEach(() => {
    server.reset()
    server.setLatency(0)
    brokenQuery = undefined
  })

  it('runs the cases concurrently: 3 s a call, 8 requests in flight at once, no case timing out', async () => {
    server.setLatency(3000)
    const started = performance.now()
    const run = await live()
    const seconds = (performance.now() - started) / 1000
    expect(run.code, run.output).toBe(0)
    expect(server.requests).toBe(32)
    expect(server.maxInFlight).toBe(8)
    // Printed, not asserted (no timing thresholds in tests): about 0.15x of 96 s sequential.
    console.log(`16 cases, 32 calls at 3 s: ${seconds.toFixed(1)} s, ${(seconds / 96).toFixed(2)}x the sequential time`)
  })

  it('under -u with every call refused (401), keeps every recording byte-identical and fails', async () => {
    const [tapeBefore, tracesBefore] = [await tape(), await traces()]
    server.failNext(1000, 401)
    const run = await live(['-u'])
    expect(run.code).not.toBe(0)
    expect(run.output).toContain(`${server.url}/chat/completions) refused the API key: HTTP 401`)
    expect(server.requests).toBe(16) // no retry of a refused key: one student call per case
    expect(run.output).toMatch(/kept 32 recording\(s\) of cases that failed/)
    expect(run.output).not.toMatch(/removed/)
    expect(await tape()).toBe(tapeBefore)
    expect(await traces()).toBe(tracesBefore)
    const ci = await project.vitest([], { ci: true })
    expect(ci.code, ci.output).toBe(0)
  })

  it('under -u with nothing listening, gives up within the retry time, names the URL, and keeps every recording', async () => {
    const [tapeBefore, tracesBefore] = [await tape(), await traces()]
    const closed = await startModelServer()
    const url = closed.url
    await closed.close() // the port is free again: connections are refused
    const run = await project.vitest(['-u'], { env: { TEST_KEY: apiKey, LEARN_API_URL: url, CALL_TIME_MS: '3000' } })
    expect(run.code).not.toBe(0)
    expect(run.output).toContain(`(openai gpt-4o-mini at ${url}/chat/completions) is unreachable: connection refused`)
    expect(run.output).toContain(`is the server at ${url} running?`)
    expect(run.output).not.toMatch(/Test timed out/)
    expect(await tape()).toBe(tapeBefore)
    expect(await traces()).toBe(tracesBefore)
  })

  it('never records an answer ax cannot use, and the gate says "15 of 16 cases scored"', async () => {
    brokenQuery = queries[3]
    const edited = spec.replace("'Reply politely.'", "'Reply politely and briefly.'")
    await project.write('support.learn.ts', edited)
    const run = await live()
    expect(run.code).not.toBe(0)
    expect(run.output).toContain('15 of 16 cases scored')
    const { entries } = (await readTapeFile(`${project.dir}/snapshots/support/tape.json`, 'fix'))!
    const students = entries.filter((entry) => entry.role === 'student' && JSON.stringify(entry.request).includes('Reply politely and briefly.'))
    expect(students).toHaveLength(15)
    expect(students.filter((entry) => JSON.stringify(entry.request).includes(queries[3]!))).toEqual([])

    brokenQuery = undefined
    const healed = await live()
    expect(healed.code, healed.output).toBe(0)
    expect(healed.output).toMatch(/1 recorded/) // the student's answer; the judge's call for it matches an earlier recording
  })

  it('keeps the gate after the cases under --sequence.concurrent', async () => {
    const run = await live(['--sequence.concurrent'])
    expect(run.code, run.output).toBe(0)
    expect(run.output).toMatch(/Tests\s+17 passed \| 1 skipped/) // the regression check has no baseline
  })
})
